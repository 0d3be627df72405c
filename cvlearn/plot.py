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
    """A NumPy array of a tensor on any device, or of a list of such tensors (stacked)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, (list, tuple)) and x and all(isinstance(t, torch.Tensor) for t in x):
        return np.stack([t.detach().cpu().numpy() for t in x])
    return np.asarray(x)


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


VOID_COLOUR = (224, 224, 192)
"""Pixels whose index is outside the palette (VOC's 255, "void") are drawn in VOC's own cream."""


def colourise(semantic: Any, palette: Any) -> np.ndarray:
    """(H, W, 3) uint8: each pixel of an (H, W) class-index mask in its class's palette colour
    (indices past the palette, such as VOC's 255 for unlabelled pixels, in :data:`VOID_COLOUR`)."""
    palette = np.asarray(palette, dtype=np.uint8)
    index = _as_array(semantic).astype(np.int64)
    known = (index >= 0) & (index < len(palette))
    return np.where(known[..., None], palette[np.where(known, index, 0)], np.array(VOID_COLOUR, dtype=np.uint8))


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
    idx = range(len(classes)) if present is None else sorted(set(int(i) for i in present if 0 <= i < len(classes)))
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


ERROR_COLOUR = (255, 0, 0)
"""Colour of wrongly classified pixels in error overlays (RGB 0..255)."""


def error_overlay(image: Any, truth: Any, prediction: Any, alpha: float = 0.7,
                  ignore_index: int | None = None) -> np.ndarray:
    """(H, W, 3) uint8: the image with every wrongly classified pixel tinted red.

    truth, prediction: (H, W) class indices; pixels whose truth is ``ignore_index`` never count
    as errors.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    truth, prediction = _as_array(truth).astype(np.int64), _as_array(prediction).astype(np.int64)
    if truth.shape != prediction.shape:
        raise ValueError(f"truth and prediction must have the same (H, W) shape, got {truth.shape} and {prediction.shape}")
    wrong = truth != prediction
    if ignore_index is not None:
        wrong &= truth != ignore_index
    img = as_numpy_image(image).astype(np.float32)
    img[wrong] = (1 - alpha) * img[wrong] + alpha * np.asarray(ERROR_COLOUR, dtype=np.float32)
    return img.round().astype(np.uint8)


def show_segmentation_results(images: Sequence[Any], truths: Sequence[Any], predictions: Sequence[Any],
                              classes: Sequence[str], palette: Any, alpha: float = 0.6,
                              size: float = 1.8, ignore_index: int | None = None) -> Figure:
    """One row per sample: the image, the ground truth, the prediction, and the errors in red.

    images: (3, H, W) each; truths, predictions: (H, W) class indices each. Pixels whose truth is
    ``ignore_index`` (VOC's 255 outlines) are neither errors nor counted in the share wrong.
    """
    n = len(images)
    columns = min(len(classes), 7)  # VOC's 21 classes take three legend rows
    extra = 0.25 * (-(-len(classes) // columns) - 1)  # inches for the legend rows past the first
    fig, axes = plt.subplots(n, 4, figsize=(4 * size, n * size + 0.5 + extra), squeeze=False)
    for row, (image, truth, prediction) in enumerate(zip(images, truths, predictions)):
        panels = [as_numpy_image(image), overlay(image, truth, palette, alpha), overlay(image, prediction, palette, alpha),
                  error_overlay(image, truth, prediction, ignore_index=ignore_index)]
        labelled = _as_array(truth) != (-1 if ignore_index is None else ignore_index)
        wrong = float((_as_array(truth) != _as_array(prediction))[labelled].mean()) if labelled.any() else 0.0
        for col, (ax, panel) in enumerate(zip(axes[row], panels)):
            ax.imshow(panel, interpolation="nearest")
            ax.set_title(["image", "ground truth", "prediction", "errors (red)"][col] if row == 0 else "", fontsize=8)
            ax.axis("off")
        axes[row, 3].text(0.03, 0.97, f"{wrong:.1%} wrong", transform=axes[row, 3].transAxes, fontsize=7, va="top",
                          color="white", bbox={"facecolor": "black", "alpha": 0.6, "pad": 1, "edgecolor": "none"})
    fig.legend(handles=legend_handles(classes, palette), fontsize=7, loc="upper center", ncol=columns,
               frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.35 + extra) / (n * size + 0.5 + extra)), h_pad=0.4, w_pad=0.4)
    return fig


def show_grids(grids: Sequence[Any], titles: Sequence[str], size: float = 1.6, fmt: str = "{:g}") -> Figure:
    """Small 2-D arrays side by side, each cell shaded and labelled with its value (for kernels,
    feature maps and the like)."""
    fig, axes = plt.subplots(1, len(grids), figsize=(size * len(grids), size + 0.3), squeeze=False)
    for ax, grid, title in zip(axes[0], grids, titles):
        values = _as_array(grid).astype(np.float64)
        ax.imshow(values, cmap="Blues", vmin=min(values.min(), 0), vmax=max(values.max(), 1e-9))
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                    color="white" if v > values.max() / 2 and v > 0 else "black")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def show_maps(maps: Any, titles: Sequence[str] | None = None, ncols: int = 8, size: float = 1.3,
              cmap: str = "viridis") -> Figure:
    """A grid of single-channel maps (K, h, w), e.g. one layer's feature maps, each on its own colour scale."""
    maps = _as_array(maps)
    n = len(maps)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.25 * (titles is not None)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(maps[i], cmap=cmap, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize=7)
    fig.tight_layout()
    return fig


def show_heatmaps(images: Sequence[Any], heatmaps: Any, titles: Sequence[str] | None = None, alpha: float = 0.8,
                  size: float = 1.6, cmap: str = "jet") -> Figure:
    """Each image above its heatmap (H, W, values 0..1) laid over it, e.g. saliency or Grad-CAM.

    The heat is drawn more opaque where it is higher (up to ``alpha``), so cold regions show
    the picture as it is.
    """
    heatmaps = np.clip(_as_array(heatmaps).astype(np.float64), 0, 1)
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(size * n, 2 * size + 0.3 * (titles is not None)), squeeze=False)
    for i in range(n):
        img = as_numpy_image(images[i])
        axes[0, i].imshow(img, interpolation="nearest")
        axes[1, i].imshow(img, interpolation="nearest")
        heat = plt.get_cmap(cmap)(heatmaps[i])
        heat[..., 3] = alpha * heatmaps[i]
        axes[1, i].imshow(heat, interpolation="bilinear")
        if titles is not None:
            axes[0, i].set_title(titles[i], fontsize=7)
        axes[0, i].axis("off")
        axes[1, i].axis("off")
    fig.tight_layout()
    return fig


TRUE_BOX_COLOUR, PREDICTED_BOX_COLOUR = "lime", "red"
"""Ground truth is drawn solid in lime, predictions dashed in red, in every localisation picture."""


def show_localisations(images: Sequence[Any], true_boxes: Any, pred_boxes: Any = None,
                       titles: Sequence[str] | None = None, title_colours: Sequence[str] | None = None,
                       ncols: int = 6, size: float = 1.8) -> Figure:
    """A grid of pictures, each with its true box (solid lime) and its predicted box (dashed red).

    true_boxes, pred_boxes: (N, 4) XYXY in pixels, one per picture (``pred_boxes=None``: the true
    boxes only).
    """
    true_boxes = _as_array(true_boxes).reshape(-1, 4)
    pred_boxes = None if pred_boxes is None else _as_array(pred_boxes).reshape(-1, 4)
    if len(images) != len(true_boxes) or (pred_boxes is not None and len(pred_boxes) != len(images)):
        raise ValueError(f"need one true and one predicted box per image: {len(images)} images, {len(true_boxes)} "
                         f"true boxes, {'no' if pred_boxes is None else len(pred_boxes)} predicted boxes")
    fig = show_images(images, titles, ncols=ncols, size=size, title_colours=title_colours)
    for i, ax in enumerate(fig.axes[:len(images)]):
        draw_boxes(ax, true_boxes[i:i + 1], colours=[TRUE_BOX_COLOUR])
        if pred_boxes is not None:
            draw_boxes(ax, pred_boxes[i:i + 1], colours=[PREDICTED_BOX_COLOUR], linestyle="--")
    return fig


def show_box_anatomy(image: Any, box: Any, ax: Any = None) -> Figure:
    """One box on its picture with what each format stores: the corners (XYXY), the top-left
    corner with width and height (XYWH), and the centre (CXCYWH).

    box: (4,) XYXY in pixels. Pixel edges sit half a pixel before pixel centres, as in
    :func:`draw_boxes`.
    """
    x1, y1, x2, y2 = (float(v) for v in _as_array(box).reshape(4))
    if x2 < x1 or y2 < y1:
        raise ValueError(f"box must be XYXY with x2 >= x1 and y2 >= y1, got {[x1, y1, x2, y2]}")
    fig, ax = _axes(ax, (4.2, 4.2))
    ax.imshow(as_numpy_image(image), interpolation="nearest")
    draw_boxes(ax, [[x1, y1, x2, y2]], colours=[TRUE_BOX_COLOUR], linewidth=2)
    dot = {"fontsize": 7, "color": "white", "bbox": {"facecolor": "black", "alpha": 0.6, "pad": 1, "edgecolor": "none"}}
    ax.plot([x1 - 0.5, x2 - 0.5], [y1 - 0.5, y2 - 0.5], "o", color=TRUE_BOX_COLOUR, ms=5)
    ax.text(x1 - 0.5, y1 - 1.5, f"(x1, y1) = ({x1:g}, {y1:g})", va="bottom", **dot)
    ax.text(x2 - 0.5, y2 + 0.5, f"(x2, y2) = ({x2:g}, {y2:g})", va="top", ha="right", **dot)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    ax.plot([cx - 0.5], [cy - 0.5], "+", color="yellow", ms=10, mew=2)
    ax.text(cx - 0.5, cy + 0.5, f"centre ({cx:g}, {cy:g})", ha="center", va="top", **dot)
    ax.annotate("", (x2 - 0.5, y1 + 1), (x1 - 0.5, y1 + 1), arrowprops={"arrowstyle": "<->", "color": "yellow"})
    ax.text(cx - 0.5, y1 + 1.5, f"w = {x2 - x1:g}", ha="center", va="top", **dot)
    ax.annotate("", (x1 + 1, y2 - 0.5), (x1 + 1, y1 - 0.5), arrowprops={"arrowstyle": "<->", "color": "yellow"})
    ax.text(x1 + 1.5, cy - 0.5, f"h = {y2 - y1:g}", ha="left", va="center", **dot)
    ax.set_title(f"XYXY ({x1:g}, {y1:g}, {x2:g}, {y2:g}) · XYWH ({x1:g}, {y1:g}, {x2 - x1:g}, {y2 - y1:g})\n"
                 f"CXCYWH ({cx:g}, {cy:g}, {x2 - x1:g}, {y2 - y1:g})", fontsize=8)
    ax.axis("off")
    return fig


OUTCOME_COLOURS = {"correct": "tab:green", "duplicate": "tab:orange", "wrong class": "tab:purple",
                   "poor box": "tab:red", "background": "tab:red"}
"""The colour of each detection outcome (see ``cvlearn.metrics.detection.detection_outcomes``)."""


def show_detection_outcomes(image: Any, prediction: dict, target: dict, outcomes: Sequence[str], missed: Any,
                            class_names: Sequence[str], ax: Any = None, title: str | None = None) -> Figure:
    """Detections coloured by outcome (green correct, orange duplicate, purple wrong class, red
    poor box or background) and the ground-truth boxes nobody found (dashed white).

    prediction: ``boxes`` (D, 4) XYXY, ``scores``, ``labels``; target: ``boxes`` (G, 4), ``labels``;
    outcomes: (D,) strings; missed: (G,) bool.
    """
    fig, ax = _axes(ax, (3.2, 3.2))
    ax.imshow(as_numpy_image(image), interpolation="nearest")
    missed = _as_array(missed).astype(bool).reshape(-1)
    gt_boxes, gt_labels = _as_array(target["boxes"]).reshape(-1, 4), _as_array(target["labels"]).reshape(-1)
    draw_boxes(ax, gt_boxes[missed], gt_labels[missed], None, class_names, colours=["white"] * int(missed.sum()),
               linestyle="--", linewidth=1.2)
    draw_boxes(ax, prediction["boxes"], prediction["labels"], prediction["scores"], class_names,
               colours=[OUTCOME_COLOURS[o] for o in outcomes])
    ax.set_title(title or "", fontsize=8)
    ax.axis("off")
    return fig


def show_grid(image: Any, stride: int, points: Any = None, anchors: Any = None, ax: Any = None,
              title: str | None = None, point_colours: Any = None) -> Figure:
    """An image with a feature-map grid (a line every ``stride`` pixels), optional (P, 2) points
    (x, y) and optional (A, 4) XYXY anchor boxes drawn on top."""
    fig, ax = _axes(ax, (3.2, 3.2))
    img = as_numpy_image(image)
    ax.imshow(img, interpolation="nearest")
    h, w = img.shape[:2]
    for x in np.arange(0, w + 1, stride):
        ax.axvline(x - 0.5, color="white", lw=0.4, alpha=0.6)
    for y in np.arange(0, h + 1, stride):
        ax.axhline(y - 0.5, color="white", lw=0.4, alpha=0.6)
    if points is not None:
        p = _as_array(points).reshape(-1, 2)
        ax.scatter(p[:, 0] - 0.5, p[:, 1] - 0.5, s=6, c="yellow" if point_colours is None else point_colours,
                   edgecolors="black", linewidths=0.3, zorder=3)
    if anchors is not None:
        a = _as_array(anchors).reshape(-1, 4)
        draw_boxes(ax, a, colours=[INSTANCE_COLOURS[i % len(INSTANCE_COLOURS)] for i in range(len(a))], linewidth=1)
    ax.set(xlim=(-0.5, w - 0.5), ylim=(h - 0.5, -0.5))
    ax.set_title(title or "", fontsize=8)
    ax.axis("off")
    return fig


def plot_precision_recall(curves: Sequence[tuple[Any, Any]], labels: Sequence[str],
                          interpolated: Sequence[Any] | None = None, ax: Any = None,
                          title: str = "precision-recall") -> Figure:
    """Precision-recall curves: ``curves[i] = (precision, recall)`` drawn as a line; with
    ``interpolated[i]`` (101 precisions at recall 0, 0.01, ..., 1) also their COCO envelope, shaded."""
    fig, ax = _axes(ax, (4, 3.2))
    for i, ((precision, recall), label) in enumerate(zip(curves, labels)):
        colour = INSTANCE_COLOURS[i % len(INSTANCE_COLOURS)]
        ax.plot(_as_array(recall), _as_array(precision), color=colour, lw=1, label=label)
        if interpolated is not None:
            steps = np.linspace(0, 1, len(interpolated[i]))
            ax.fill_between(steps, _as_array(interpolated[i]), step="post", color=colour, alpha=0.15)
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0, 1.02), title=title)
    ax.legend(fontsize=7, loc="lower left")
    return fig


def show_roi_align(image: Any, box: Any, pooled: Any, stride: int, ax: Any = None) -> Figure:
    """RoIAlign on one box: the picture with the box cut into S x S bins and each bin's sample
    point (its centre, as with ``sampling_ratio=1``), next to the pooled (S, S) map.

    image: (3, H, W) or (H, W, 3); box: (4,) XYXY in pixels; pooled: (S, S) or (C, S, S) (the
    mean over channels is shown); stride: the feature map's stride, for the cell grid drawn faintly.
    """
    pooled = _as_array(pooled).astype(np.float64)
    pooled = pooled.mean(0) if pooled.ndim == 3 else pooled
    if pooled.ndim != 2 or pooled.shape[0] != pooled.shape[1]:
        raise ValueError(f"pooled must be (S, S) or (C, S, S), got shape {pooled.shape}")
    size = pooled.shape[0]
    x1, y1, x2, y2 = (float(v) for v in _as_array(box).reshape(4))
    if ax is None:
        fig, (ax, right) = plt.subplots(1, 2, figsize=(6.4, 3.2))
    else:
        fig, right = ax.figure, None
    show_grid(image, stride, ax=ax, title=f"one proposal, {size}x{size} bins, one sample each")
    edges_x, edges_y = np.linspace(x1, x2, size + 1) - 0.5, np.linspace(y1, y2, size + 1) - 0.5
    for x in edges_x:
        ax.plot([x, x], [edges_y[0], edges_y[-1]], color="yellow", lw=0.5)
    for y in edges_y:
        ax.plot([edges_x[0], edges_x[-1]], [y, y], color="yellow", lw=0.5)
    cx, cy = (edges_x[:-1] + edges_x[1:]) / 2, (edges_y[:-1] + edges_y[1:]) / 2
    gx, gy = np.meshgrid(cx, cy)
    ax.scatter(gx.ravel(), gy.ravel(), s=2, c="red", zorder=3)
    if right is not None:
        right.imshow(pooled, cmap="viridis", interpolation="nearest")
        right.set_title(f"pooled features ({size}x{size}, mean of channels)", fontsize=8)
        right.axis("off")
        fig.tight_layout()
    return fig


def show_mask_paste(image: Any, box: Any, mask_probs: Any, pasted: Any, name: str = "object") -> Figure:
    """How a mask head's answer becomes a mask in the picture: the (M, M) probabilities it
    predicts for one box, the same stretched over the box and pasted into the picture, and the
    pixels above 0.5.

    box: (4,) XYXY in pixels; mask_probs: (M, M) in 0..1; pasted: (H, W) probabilities in 0..1.
    """
    mask_probs, pasted = _as_array(mask_probs).astype(np.float64), _as_array(pasted).astype(np.float64)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3))
    axes[0].imshow(mask_probs, cmap="magma", vmin=0, vmax=1, interpolation="nearest")
    axes[0].set_title(f"mask head: {mask_probs.shape[0]}x{mask_probs.shape[1]} probabilities", fontsize=8)
    axes[1].imshow(as_numpy_image(image), interpolation="nearest")
    axes[1].imshow(pasted, cmap="magma", vmin=0, vmax=1, alpha=0.7, interpolation="nearest")
    draw_boxes(axes[1], _as_array(box).reshape(1, 4), colours=["cyan"])
    axes[1].set_title("stretched over its box, pasted in", fontsize=8)
    picture = as_numpy_image(image).astype(np.float64)
    chosen = pasted > 0.5
    picture[chosen] = 0.3 * picture[chosen] + 0.7 * np.array([255.0, 0.0, 255.0])  # magenta: no pen is that colour
    axes[2].imshow(picture.round().astype(np.uint8), interpolation="nearest")
    axes[2].set_title(f"{name}: pixels above 0.5", fontsize=8)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig
