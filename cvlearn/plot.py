"""Pictures every notebook uses: image grids, boxes, semantic overlays, instances, training curves.

Images may be ``(3, H, W)`` tensors (uint8, or float in 0..1) or ``(H, W, 3)`` arrays; boxes are
``(N, 4)`` XYXY in pixels. Each function returns the matplotlib ``Figure`` it drew on (end the
notebook line with ``;`` to show it once).
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

INSTANCE_COLOURS = np.array([plt.cm.tab10(i)[:3] for i in range(10)] +
                            [plt.cm.Set2(i)[:3] for i in range(8)])
"""Distinct colours (RGB in 0..1) given to instances in order: instance k gets colour k mod 18."""


def as_numpy_image(image: Any) -> np.ndarray:
    """(H, W, 3) uint8 from a (3, H, W) tensor (uint8 or float 0..1) or an (H, W, 3) array."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu()
        if image.ndim == 3 and image.shape[0] in (1, 3):
            image = image.permute(1, 2, 0)
        image = image.numpy()
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(image * 255 if image.max() <= 1.0 else image, 0, 255).astype(np.uint8)
    if image.ndim == 2 or image.shape[-1] == 1:
        image = np.repeat(image.reshape(*image.shape[:2], 1), 3, axis=2)
    return image


def _as_array(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _axes(ax: Any, figsize: tuple[float, float] = (3, 3)) -> tuple[Figure, Any]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def show_images(images: Sequence[Any], titles: Sequence[str] | None = None, ncols: int = 8,
                size: float = 1.6, title_colours: Sequence[str] | None = None) -> Figure:
    """A grid of images with optional titles (and title colours, e.g. green/red for right/wrong)."""
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3 * (titles is not None)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(as_numpy_image(images[i]), interpolation="nearest")
            if titles is not None:
                colour = title_colours[i] if title_colours is not None else "black"
                ax.set_title(titles[i], fontsize=8, color=colour)
    fig.tight_layout()
    return fig


def draw_boxes(ax: Any, boxes: Any, labels: Any = None, scores: Any = None,
               class_names: Sequence[str] | None = None, colours: Any = None, linewidth: float = 1.5,
               linestyle: str = "-", fontsize: int = 7) -> None:
    """Draw (N, 4) XYXY pixel boxes on ``ax`` with captions "name score"."""
    boxes = _as_array(boxes).reshape(-1, 4)
    labels = None if labels is None else _as_array(labels).reshape(-1)
    scores = None if scores is None else _as_array(scores).reshape(-1)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        colour = colours[i] if colours is not None else INSTANCE_COLOURS[
            int(labels[i]) % len(INSTANCE_COLOURS) if labels is not None else 0]
        ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor=colour,
                               linewidth=linewidth, linestyle=linestyle))
        caption = []
        if labels is not None:
            caption.append(class_names[int(labels[i])] if class_names is not None else str(int(labels[i])))
        if scores is not None:
            caption.append(f"{scores[i]:.2f}")
        if caption:
            ax.text(x1 - 0.5, y1 - 1, " ".join(caption), fontsize=fontsize, color="white", va="bottom",
                    bbox={"facecolor": colour, "alpha": 0.8, "pad": 0.5, "edgecolor": "none"})


def show_boxes(image: Any, boxes: Any, labels: Any = None, scores: Any = None,
               class_names: Sequence[str] | None = None, ax: Any = None, title: str | None = None,
               **kwargs: Any) -> Figure:
    """An image with its boxes: ``class_names[labels[i]]`` and the score as each caption."""
    fig, ax = _axes(ax)
    ax.imshow(as_numpy_image(image), interpolation="nearest")
    draw_boxes(ax, boxes, labels, scores, class_names, **kwargs)
    ax.set_title(title or "", fontsize=9)
    ax.axis("off")
    return fig


def colourise(semantic: Any, palette: Any) -> np.ndarray:
    """(H, W, 3) uint8: each pixel of an (H, W) class-index mask in its class's palette colour."""
    return np.asarray(palette, dtype=np.uint8)[_as_array(semantic).astype(np.int64)]


def overlay(image: Any, semantic: Any, palette: Any, alpha: float = 0.5, visible: Sequence[int] | None = None) -> np.ndarray:
    """Blend class colours over an image; ``visible`` lists the class indices to colour (default all)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    img = as_numpy_image(image).astype(np.float32)
    sem = _as_array(semantic).astype(np.int64)
    colours = colourise(sem, palette).astype(np.float32)
    shown = np.ones_like(sem, dtype=bool) if visible is None else np.isin(sem, list(visible))
    blended = np.where(shown[..., None], (1 - alpha) * img + alpha * colours, img)
    return blended.round().astype(np.uint8)


def legend_handles(classes: Sequence[str], palette: Any, present: Sequence[int] | None = None) -> list[Patch]:
    """Legend patches, one per class (only those in ``present`` when given)."""
    idx = range(len(classes)) if present is None else sorted(set(int(i) for i in present))
    return [Patch(facecolor=np.asarray(palette[i]) / 255, edgecolor="grey", label=classes[i]) for i in idx]


def show_semantic(image: Any, semantic: Any, classes: Sequence[str], palette: Any, alpha: float = 0.6,
                  ax: Any = None, legend: bool = True, title: str | None = None) -> Figure:
    """A semantic mask over its image, with a legend of the classes present."""
    fig, ax = _axes(ax)
    ax.imshow(overlay(image, semantic, palette, alpha), interpolation="nearest")
    if legend:
        ax.legend(handles=legend_handles(classes, palette, np.unique(_as_array(semantic))), fontsize=6,
                  loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(title or "", fontsize=9)
    ax.axis("off")
    return fig


def instance_names(labels: Any, class_names: Sequence[str]) -> list[str]:
    """Names that count per class, in order: ["pen 1", "pen 2", "apple 1", ...]."""
    seen: dict[str, int] = {}
    names = []
    for label in _as_array(labels).reshape(-1).tolist():
        cls = class_names[int(label)]
        seen[cls] = seen.get(cls, 0) + 1
        names.append(f"{cls} {seen[cls]}")
    return names


def overlay_instances(image: Any, masks: Any, alpha: float = 0.6) -> np.ndarray:
    """(H, W, 3) uint8: each (H, W) mask of an (N, H, W) stack blended in its own colour."""
    img = as_numpy_image(image).astype(np.float32)
    for k, mask in enumerate(_as_array(masks).astype(bool)):
        colour = INSTANCE_COLOURS[k % len(INSTANCE_COLOURS)] * 255
        img[mask] = (1 - alpha) * img[mask] + alpha * colour
    return img.round().astype(np.uint8)


def show_instances(image: Any, masks: Any, labels: Any, class_names: Sequence[str], scores: Any = None,
                   boxes: Any = None, ax: Any = None, title: str | None = None, alpha: float = 0.6) -> Figure:
    """Instances each in their own colour, captioned with an ID ("pen 1", "pen 2") and score."""
    fig, ax = _axes(ax)
    masks = _as_array(masks).astype(bool)
    ax.imshow(overlay_instances(image, masks, alpha), interpolation="nearest")
    names = instance_names(labels, class_names)
    scores = None if scores is None else _as_array(scores).reshape(-1)
    boxes = None if boxes is None else _as_array(boxes).reshape(-1, 4)
    for k, mask in enumerate(masks):
        colour = INSTANCE_COLOURS[k % len(INSTANCE_COLOURS)]
        if boxes is not None:
            x1, y1, x2, y2 = boxes[k]
            ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor=colour, lw=1))
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            continue
        caption = names[k] + (f" {scores[k]:.2f}" if scores is not None else "")
        ax.text(xs.mean(), ys.mean(), caption, fontsize=6, color="white", ha="center", va="center",
                bbox={"facecolor": colour, "alpha": 0.85, "pad": 0.5, "edgecolor": "none"})
    ax.set_title(title or "", fontsize=9)
    ax.axis("off")
    return fig


def plot_history(history: Any, metrics: Sequence[str] | None = None) -> Figure:
    """Training curves: losses per step and per epoch, then one panel per metric (train and val)."""
    keys = history.keys()
    metrics = metrics or sorted({k.split("_", 1)[1] for k in keys
                                 if k.startswith(("train_", "val_")) and not k.endswith("loss")})
    fig, axes = plt.subplots(1, 1 + len(metrics), figsize=(4 * (1 + len(metrics)), 3), squeeze=False)
    ax = axes[0, 0]
    if history.step_losses:
        steps_per_epoch = len(history.step_losses) / max(len(history.epochs), 1)
        ax.plot(np.arange(1, len(history.step_losses) + 1) / steps_per_epoch, history.step_losses,
                alpha=0.3, lw=0.8, label="train (step)")
    epochs = history["epoch"]
    for split in ("train", "val"):
        if f"{split}_loss" in keys:
            ax.plot(epochs[:len(history[f"{split}_loss"])], history[f"{split}_loss"], "o-", label=split)
    ax.set(xlabel="epoch", ylabel="loss", title="loss")
    ax.legend(fontsize=7)
    for ax, name in zip(axes[0, 1:], metrics):
        for split in ("train", "val"):
            if f"{split}_{name}" in keys:
                ax.plot(epochs[:len(history[f"{split}_{name}"])], history[f"{split}_{name}"], "o-", label=split)
        ax.set(xlabel="epoch", title=name)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def confusion(matrix: Any, classes: Sequence[str], ax: Any = None, normalise: bool = False,
              title: str = "confusion matrix") -> Figure:
    """A confusion matrix (rows: true class, columns: predicted) with counts in the cells."""
    m = _as_array(matrix).astype(np.float64)
    shown = m / np.maximum(m.sum(1, keepdims=True), 1) if normalise else m
    fig, ax = _axes(ax, (0.6 * len(classes) + 2, 0.6 * len(classes) + 1.5))
    ax.imshow(shown, cmap="Blues")
    for i in range(len(classes)):
        for j in range(len(classes)):
            text = f"{shown[i, j]:.2f}" if normalise else f"{int(m[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > shown.max() / 2 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    return fig


def five_tasks(image: Any, target: dict, dataset: Any, figsize: tuple[float, float] = (15, 3.2)) -> Figure:
    """One scene as the five tasks of the course: classification, localisation, detection,
    semantic segmentation and instance segmentation, side by side."""
    fig, axes = plt.subplots(1, 5, figsize=figsize)
    img = as_numpy_image(image)
    boxes, labels, masks = target["boxes"], target["labels"], target["masks"]
    main = int(np.argmax(_as_array(masks).reshape(len(masks), -1).sum(1))) if len(masks) else 0
    axes[0].imshow(img, interpolation="nearest")
    axes[0].set_title(f"1 classification:\n\"{dataset.classes[target['label']]}\"", fontsize=9)
    show_boxes(img, _as_array(boxes)[main:main + 1], _as_array(labels)[main:main + 1],
               class_names=dataset.categories, ax=axes[1], title="2 localisation:\none class + one box")
    show_boxes(img, boxes, labels, class_names=dataset.categories, ax=axes[2],
               title="3 detection:\nevery object, a box and a class")
    show_semantic(img, target["semantic"], dataset.semantic_classes, dataset.palette, ax=axes[3],
                  title="4 semantic segmentation:\na class for every pixel")
    show_instances(img, masks, labels, dataset.categories, ax=axes[4],
                   title="5 instance segmentation:\na mask and an ID per object")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig
