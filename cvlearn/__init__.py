"""cvlearn: the companion package of a hands-on computer-vision course.

The notebooks teach; the package remembers. Modules, one per idea:

* ``toyworld``: the seeded renderer of toy scenes and the list of classes;
* ``data``: ``load(name, split)`` returns a torch Dataset of any registered dataset, toy (drawn
  and cached) or real (Oxford-IIIT Pet, Penn-Fudan and Pascal VOC in the toy world's format,
  fetched only on request, checksummed, never left half unpacked); ``data.registry`` lists them;
* ``weights``: pretrained torchvision weights, checked (cached? downloadable?) before use;
* ``augment``: augmentations (flip, scale jitter, crop, colour, copy-paste) that move every
  annotation with the picture, and ``check_consistent``, which says when one does not;
* ``formats``: ImageFolder, COCO JSON and palette PNG exports;
* ``plot``: grids, boxes, masks, instances, training curves, the five-task figure;
* ``train``: ``fit``, a training loop with progress bar, checkpoints and history;
* ``checkup``: ``doctor()`` checks the set-up, a line per check.
"""

from .checkup import doctor

__version__ = "0.1.0"
__all__ = ["__version__", "doctor"]
