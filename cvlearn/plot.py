"""Pictures every notebook uses: image grids, boxes, semantic overlays, instances, training curves.

Images may be ``(3, H, W)`` tensors (uint8, or float in 0..1) or ``(H, W, 3)`` arrays; boxes are
``(N, 4)`` XYXY in pixels. Each function returns the matplotlib ``Figure`` it drew on (end the
notebook line with ``;`` to show it once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import patheffects
from matplotlib.artist import Artist
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

if TYPE_CHECKING:
    from matplotlib.typing import LineStyleType

INSTANCE_COLOURS = np.array([plt.cm.tab10(i)[:3] for i in range(10)] + [plt.cm.Set2(i)[:3] for i in range(8)])
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


def show_images(
    images: Sequence[Any],
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    size: float = 1.6,
    title_colours: Sequence[str] | None = None,
) -> Figure:
    """A grid of images with optional titles (and title colours, e.g. green/red for right/wrong)."""
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows + 0.3 * (titles is not None)), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(as_numpy_image(images[i]), interpolation="nearest")
            if titles is not None:
                colour = title_colours[i] if title_colours is not None else "black"
                ax.set_title(titles[i], fontsize=8, color=colour)
    fig.tight_layout()
    return fig


def _luminance(colour: Any) -> float:
    """Relative luminance (0 black .. 1 white) of a matplotlib colour or an RGB triple in 0..1."""
    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_colour(colour: Any) -> str:
    """ "black" for a light colour, "white" for a dark one: an outline or a text that stands out on it."""
    return "black" if _luminance(colour) > 0.5 else "white"


def _outline(linewidth: float, colour: Any, outline: Any) -> list:
    """Path effects drawing a line over a thicker outline (``outline``: True for black or white,
    whichever contrasts with ``colour``; a colour; or False for none)."""
    if outline is None or outline is False:
        return []
    edge = contrast_colour(colour) if outline is True else outline
    return [patheffects.withStroke(linewidth=linewidth + 1.6, foreground=edge)]


class LabelLayout(Artist):
    """The captions of one axes' boxes, placed when the figure is drawn so that no two overlap.

    Each caption tries, in order: above its box's top-left corner, inside it, below the box's
    bottom-left corner, then each of these shifted down by one caption height at a time, until
    it overlaps no caption already placed (captions are placed in the order they were added,
    best score first within one :func:`draw_boxes` call). A caption of a centred kind (an
    instance's name on its mask) tries its mask's centre, then one height below, above, two
    below... Positions are worked out in screen pixels at every draw, so they hold whatever the
    figure's size, layout or resolution.
    """

    zorder = 2.99  # drawn just before the captions (text draws at 3)

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[tuple[Any, str, tuple[float, ...]]] = []
        self._sizes: dict[int, tuple] = {}
        self.set_in_layout(False)

    @classmethod
    def of(cls, ax: Any) -> LabelLayout:
        """The layout of ``ax``, added to it on first use."""
        layout = getattr(ax, "_cvlearn_labels", None)
        if layout is None or layout not in ax.get_children():  # (gone after ax.clear())
            layout = cls()
            ax.add_artist(layout)
            ax._cvlearn_labels = layout
        return layout

    def add(self, text: Any, kind: str, anchor: tuple[float, ...]) -> None:
        """``kind="box"``: ``anchor`` = (x1, y1, x2, y2) edges in data units; ``"centre"``: (x, y)."""
        self.entries.append((text, kind, tuple(float(v) for v in anchor)))

    def get_window_extent(self, renderer: Any = None) -> Any:
        from matplotlib.transforms import Bbox

        return Bbox.null()

    def _size(self, text: Any, renderer: Any) -> tuple[float, float, np.ndarray]:
        """Width and height in pixels of ``text`` with its coloured box, and the offset from the
        box's lower-left corner to the text's anchor point (cached: measuring text is slow)."""
        from matplotlib.transforms import Bbox

        key = (renderer.points_to_pixels(1.0), text.get_text(), text.get_fontsize())
        cached = self._sizes.get(id(text))
        if cached is not None and cached[0] == key:
            return cached[1]
        extent = text.get_window_extent(renderer)
        patch = text.get_bbox_patch()
        if patch is not None:
            text.update_bbox_position_size(renderer)
            extent = Bbox.union([extent, patch.get_window_extent(renderer)])
        ax = self.axes
        assert ax is not None, "a LabelLayout measures only once LabelLayout.of has added it to its axes"
        here = np.array(ax.transData.transform(text.get_position()))
        size = (extent.width, extent.height, here - np.array([extent.x0, extent.y0]))
        self._sizes[id(text)] = (key, size)
        return size

    def place(self, renderer: Any) -> list[Any]:
        """Move every caption to its place; returns their extents (x0, y0, x1, y1) in pixels, in order."""
        ax = self.axes
        assert ax is not None, "a LabelLayout is placed only once LabelLayout.of has added it to its axes"
        frame = ax.bbox
        to_data = ax.transData.inverted()
        placed = np.zeros((0, 4))
        extents = []
        eps = 0.5
        for text, kind, anchor in self.entries:
            if not text.get_visible():
                continue
            w, h, offset = self._size(text, renderer)
            # every candidate of one caption shares its left edge: only captions in that column can clash
            slots = int(frame.height // max(h, 1.0)) + 2 * len(placed) + 4
            steps = np.arange(slots) * h
            if kind == "box":
                corners = ax.transData.transform([[anchor[0], anchor[1]], [anchor[2], anchor[3]]])
                x0 = min(max(corners[:, 0].min(), frame.x0), max(frame.x1 - w, frame.x0))
                top, bottom = corners[:, 1].max(), corners[:, 1].min()
                # above the box, inside its top-left corner, below it; then each one height lower; then higher
                down = (np.array([top, top - h, bottom - h])[None] - steps[:, None]).reshape(-1)
                ys = np.concatenate([down, top + h + steps])
            else:
                x, y = ax.transData.transform([anchor])[0]
                x0 = min(max(x - w / 2, frame.x0), max(frame.x1 - w, frame.x0))
                ys = y - h / 2 + np.stack([-steps, steps], 1).reshape(-1)[1:]  # centred, one lower, one higher...
            column = placed[(placed[:, 0] < x0 + w - eps) & (x0 < placed[:, 2] - eps)]
            if len(column):
                free = ~((ys[:, None] < column[None, :, 3] - eps) & (column[None, :, 1] < ys[:, None] + h - eps)).any(1)
            else:
                free = np.ones(len(ys), dtype=bool)
            inside = (ys >= frame.y0 - eps) & (ys + h <= frame.y1 + eps)
            good = np.nonzero(free & inside)[0]
            y0 = ys[good[0] if len(good) else np.nonzero(free)[0][0]]
            position = to_data.transform(np.array([x0, y0]) + offset)
            if not np.allclose(position, text.get_position(), rtol=0, atol=1e-6):
                text.set_position(position)  # only when it moves: a stale figure is drawn again
            box = np.array([[x0, y0, x0 + w, y0 + h]])
            placed = np.concatenate([placed, box])
            extents.append(box[0])
        return extents

    def draw(self, renderer: Any) -> None:
        if self.get_visible() and self.entries:
            self.place(renderer)
        self.stale = False


def draw_boxes(
    ax: Any,
    boxes: Any,
    labels: Any = None,
    scores: Any = None,
    class_names: Sequence[str] | None = None,
    colours: Any = None,
    linewidth: float = 1.5,
    linestyle: str = "-",
    fontsize: int = 7,
    outline: Any = True,
) -> None:
    """Draw (N, 4) XYXY pixel boxes on ``ax`` with captions "name score".

    Each box is drawn in its colour (``colours[i]``; by default ``INSTANCE_COLOURS[labels[i]]``)
    over a thicker black or white outline, whichever contrasts with it, so that it stays visible
    on any background (``outline``: True, a colour, or False for none). Captions never overlap:
    :class:`LabelLayout` places them when the figure is drawn.
    """
    boxes = _as_array(boxes).reshape(-1, 4)
    labels = None if labels is None else _as_array(labels).reshape(-1)
    scores = None if scores is None else _as_array(scores).reshape(-1)
    order = range(len(boxes)) if scores is None else np.argsort(-scores, kind="stable")
    captions = []
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        colour = (
            colours[i]
            if colours is not None
            else INSTANCE_COLOURS[int(labels[i]) % len(INSTANCE_COLOURS) if labels is not None else 0]
        )
        ax.add_patch(
            Rectangle(
                (x1 - 0.5, y1 - 0.5),
                x2 - x1,
                y2 - y1,
                fill=False,
                edgecolor=colour,
                linewidth=linewidth,
                linestyle=linestyle,
                path_effects=_outline(linewidth, colour, outline),
            )
        )
        parts = []
        if labels is not None:
            parts.append(class_names[int(labels[i])] if class_names is not None else str(int(labels[i])))
        if scores is not None:
            parts.append(f"{scores[i]:.2f}")
        captions.append((" ".join(parts), colour))
    if not any(c for c, _ in captions):
        return
    layout = LabelLayout.of(ax)
    for i in order:
        caption, colour = captions[i]
        if caption:
            x1, y1, x2, y2 = boxes[i]
            text = ax.text(
                x1 - 0.5,
                y1 - 0.5,
                caption,
                fontsize=fontsize,
                color=contrast_colour(colour),
                va="bottom",
                ha="left",
                bbox={"facecolor": colour, "alpha": 0.85, "pad": 0.5, "edgecolor": "none"},
            )
            layout.add(text, "box", (x1 - 0.5, y1 - 0.5, x2 - 0.5, y2 - 0.5))


def show_boxes(
    image: Any,
    boxes: Any,
    labels: Any = None,
    scores: Any = None,
    class_names: Sequence[str] | None = None,
    ax: Any = None,
    title: str | None = None,
    **kwargs: Any,
) -> Figure:
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


def overlay(
    image: Any, semantic: Any, palette: Any, alpha: float = 0.5, visible: Sequence[int] | None = None
) -> np.ndarray:
    """Blend class colours over an image; ``visible`` lists the class indices to colour (default all)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    img = as_numpy_image(image).astype(np.float32)
    sem = _as_array(semantic).astype(np.int64)
    colours = colourise(sem, palette).astype(np.float32)
    shown = np.ones_like(sem, dtype=bool) if visible is None else np.isin(sem, list(visible))
    blended = np.where(shown[..., None], (1 - alpha) * img + alpha * colours, img)
    return blended.round().astype(np.uint8)


def legend_handles(classes: Sequence[str], palette: Any, present: Iterable[int] | None = None) -> list[Patch]:
    """Legend patches, one per class (only those in ``present`` when given)."""
    idx = range(len(classes)) if present is None else sorted(set(int(i) for i in present if 0 <= i < len(classes)))
    # matplotlib takes an array as a colour; its stubs list only tuples and strings
    return [
        Patch(facecolor=np.asarray(palette[i]) / 255, edgecolor="grey", label=classes[i])  # type: ignore[arg-type]
        for i in idx
    ]


def show_semantic(
    image: Any,
    semantic: Any,
    classes: Sequence[str],
    palette: Any,
    alpha: float = 0.6,
    ax: Any = None,
    legend: bool = True,
    title: str | None = None,
) -> Figure:
    """A semantic mask over its image, with a legend of the classes present."""
    fig, ax = _axes(ax)
    ax.imshow(overlay(image, semantic, palette, alpha), interpolation="nearest")
    if legend:
        ax.legend(
            handles=legend_handles(classes, palette, np.unique(_as_array(semantic))),
            fontsize=6,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            frameon=False,
        )
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


def show_instances(
    image: Any,
    masks: Any,
    labels: Any,
    class_names: Sequence[str],
    scores: Any = None,
    boxes: Any = None,
    ax: Any = None,
    title: str | None = None,
    alpha: float = 0.6,
    outlines: bool = True,
) -> Figure:
    """Instances each in their own colour, captioned with an ID ("pen 1", "pen 2") and score.

    With ``outlines`` (the default) each mask's outline is drawn in its colour over the fill, so
    crossing instances stay apart; captions sit on their mask's centre, moved up or down when they
    would overlap another (see :class:`LabelLayout`).
    """
    fig, ax = _axes(ax)
    masks = _as_array(masks).astype(bool)
    ax.imshow(overlay_instances(image, masks, alpha), interpolation="nearest")
    limits = ax.get_xlim(), ax.get_ylim()
    names = instance_names(labels, class_names)
    scores = None if scores is None else _as_array(scores).reshape(-1)
    boxes = None if boxes is None else _as_array(boxes).reshape(-1, 4)
    for k, mask in enumerate(masks):
        colour = INSTANCE_COLOURS[k % len(INSTANCE_COLOURS)]
        if boxes is not None:
            x1, y1, x2, y2 = boxes[k]
            ax.add_patch(
                Rectangle(
                    (x1 - 0.5, y1 - 0.5),
                    x2 - x1,
                    y2 - y1,
                    fill=False,
                    edgecolor=colour,
                    lw=1,
                    path_effects=_outline(1, colour, True),
                )
            )
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            continue
        if outlines:
            ax.contour(mask.astype(np.float32), levels=[0.5], colors=[colour], linewidths=1.2)
        caption = names[k] + (f" {scores[k]:.2f}" if scores is not None else "")
        text = ax.text(
            xs.mean(),
            ys.mean(),
            caption,
            fontsize=6,
            color=contrast_colour(colour),
            ha="center",
            va="center",
            bbox={"facecolor": colour, "alpha": 0.85, "pad": 0.5, "edgecolor": "none"},
        )
        LabelLayout.of(ax).add(text, "centre", (xs.mean(), ys.mean()))
    ax.set(xlim=limits[0], ylim=limits[1])
    ax.set_title(title or "", fontsize=9)
    ax.axis("off")
    return fig


SPLIT_COLOURS = {"train": "tab:blue", "val": "tab:orange"}
"""The colour of each split in every training-curve panel: train always blue, validation always orange."""


def plot_history(history: Any, metrics: Sequence[str] | None = None) -> Figure:
    """Training curves: losses per step and per epoch, then one panel per metric (train and val).

    Every panel draws a split in the same colour (:data:`SPLIT_COLOURS`: train blue, val
    orange; the loss of each training step in a faint blue) and has its own legend.
    """
    keys = history.keys()
    metrics = metrics or sorted(
        {k.split("_", 1)[1] for k in keys if k.startswith(("train_", "val_")) and not k.endswith("loss")}
    )
    fig, axes = plt.subplots(1, 1 + len(metrics), figsize=(4 * (1 + len(metrics)), 3), squeeze=False)

    def curve(ax: Any, split: str, name: str) -> None:
        key = f"{split}_{name}"
        if key in keys:
            recorded = [e for e in history.epochs if key in e]  # the epochs that recorded it (val may skip some)
            ax.plot(
                [e.get("epoch", i + 1) for i, e in enumerate(recorded)],
                [e[key] for e in recorded],
                "o-",
                color=SPLIT_COLOURS[split],
                label=split,
            )

    ax = axes[0, 0]
    if history.step_losses:
        steps_per_epoch = len(history.step_losses) / max(len(history.epochs), 1)
        ax.plot(
            np.arange(1, len(history.step_losses) + 1) / steps_per_epoch,
            history.step_losses,
            color=SPLIT_COLOURS["train"],
            alpha=0.3,
            lw=0.8,
            label="train (each step)",
        )
    for split in ("train", "val"):
        curve(ax, split, "loss")
    ax.set(xlabel="epoch", ylabel="loss", title="loss")
    ax.legend(fontsize=7)
    for ax, name in zip(axes[0, 1:], metrics):
        for split in ("train", "val"):
            curve(ax, split, name)
        ax.set(xlabel="epoch", title=name)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def confusion(
    matrix: Any, classes: Sequence[str], ax: Any = None, normalise: bool = False, title: str = "confusion matrix"
) -> Figure:
    """A confusion matrix (rows: true class, columns: predicted) with counts in the cells."""
    m = _as_array(matrix).astype(np.float64)
    shown = m / np.maximum(m.sum(1, keepdims=True), 1) if normalise else m
    fig, ax = _axes(ax, (0.6 * len(classes) + 2, 0.6 * len(classes) + 1.5))
    ax.imshow(shown, cmap="Blues")
    for i in range(len(classes)):
        for j in range(len(classes)):
            text = f"{shown[i, j]:.2f}" if normalise else f"{int(m[i, j])}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if shown[i, j] > shown.max() / 2 else "black",
            )
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    return fig


def class_colours(dataset: Any, labels: Any = None) -> Any:
    """Each class's colour (RGB in 0..1) in ``dataset.palette``, the colours of its semantic masks.

    Without ``labels``: a (C, 3) array, one row per entry of ``dataset.categories`` (a category
    with no semantic class of its own gets :data:`INSTANCE_COLOURS`); with ``labels`` (N,): a
    list of N colours, one per box, for ``draw_boxes(..., colours=...)``.
    """
    palette = np.asarray(dataset.palette, dtype=np.float64) / 255
    semantic = list(getattr(dataset, "semantic_classes", ()))
    table = np.stack(
        [
            palette[semantic.index(name)]
            if name in semantic and semantic.index(name) < len(palette)
            else INSTANCE_COLOURS[k % len(INSTANCE_COLOURS)]
            for k, name in enumerate(dataset.categories)
        ]
    )
    if labels is None:
        return table
    return [table[int(k)] for k in _as_array(labels).reshape(-1)]


def five_tasks(image: Any, target: dict, dataset: Any, figsize: tuple[float, float] = (15, 3.2)) -> Figure:
    """One scene as the five tasks of the course: classification, localisation, detection,
    semantic segmentation and instance segmentation, side by side."""
    fig, axes = plt.subplots(1, 5, figsize=figsize)
    img = as_numpy_image(image)
    boxes, labels, masks = target["boxes"], target["labels"], target["masks"]
    main = int(np.argmax(_as_array(masks).reshape(len(masks), -1).sum(1))) if len(masks) else 0
    axes[0].imshow(img, interpolation="nearest")
    axes[0].set_title(f'1 classification:\n"{dataset.classes[target["label"]]}"', fontsize=9)
    colours = class_colours(dataset, labels)  # boxes in their class's colour, as in the semantic mask
    show_boxes(
        img,
        _as_array(boxes)[main : main + 1],
        _as_array(labels)[main : main + 1],
        class_names=dataset.categories,
        ax=axes[1],
        title="2 localisation:\none class + one box",
        colours=colours[main : main + 1],
    )
    show_boxes(
        img,
        boxes,
        labels,
        class_names=dataset.categories,
        ax=axes[2],
        title="3 detection:\nevery object, a box and a class",
        colours=colours,
    )
    show_semantic(
        img,
        target["semantic"],
        dataset.semantic_classes,
        dataset.palette,
        ax=axes[3],
        title="4 semantic segmentation:\na class for every pixel",
    )
    show_instances(
        img,
        masks,
        labels,
        dataset.categories,
        ax=axes[4],
        title="5 instance segmentation:\na mask and an ID per object",
    )
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


ERROR_COLOUR = (255, 0, 0)
"""Colour of wrongly classified pixels in error overlays (RGB 0..255)."""


def error_overlay(
    image: Any, truth: Any, prediction: Any, alpha: float = 0.7, ignore_index: int | None = None
) -> np.ndarray:
    """(H, W, 3) uint8: the image with every wrongly classified pixel tinted red.

    truth, prediction: (H, W) class indices; pixels whose truth is ``ignore_index`` never count
    as errors.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    truth, prediction = _as_array(truth).astype(np.int64), _as_array(prediction).astype(np.int64)
    if truth.shape != prediction.shape:
        raise ValueError(
            f"truth and prediction must have the same (H, W) shape, got {truth.shape} and {prediction.shape}"
        )
    wrong = truth != prediction
    if ignore_index is not None:
        wrong &= truth != ignore_index
    img = as_numpy_image(image).astype(np.float32)
    img[wrong] = (1 - alpha) * img[wrong] + alpha * np.asarray(ERROR_COLOUR, dtype=np.float32)
    return img.round().astype(np.uint8)


DIVIDER_COLOUR = "0.25"
"""The lines between side-by-side panels (truth | prediction): dark grey."""


def add_dividers(
    fig: Figure,
    columns: Sequence[Iterable[Any]] | None = None,
    rows: Sequence[Iterable[Any]] | None = None,
    colour: Any = DIVIDER_COLOUR,
    linewidth: float = 1.5,
) -> list[Line2D]:
    """Lines between side-by-side panels, halfway across each gap: vertical between ``columns``
    (the axes of each column, left to right), horizontal between ``rows`` (the axes of each row,
    top to bottom), e.g. ``add_dividers(fig, rows=[axes[0], axes[1]])`` under a row of
    predictions above a row of truths. Call it once the layout is final (after ``tight_layout``)."""
    lines = []
    for groups, vertical in ((columns or [], True), (rows or [], False)):
        for first, second in zip(groups[:-1], groups[1:]):
            a, b = [ax.get_position() for ax in first], [ax.get_position() for ax in second]
            every = a + b
            if vertical:
                x = (max(p.x1 for p in a) + min(p.x0 for p in b)) / 2
                xs, ys = [x, x], [min(p.y0 for p in every), max(p.y1 for p in every)]
            else:
                y = (min(p.y0 for p in a) + max(p.y1 for p in b)) / 2
                xs, ys = [min(p.x0 for p in every), max(p.x1 for p in every)], [y, y]
            line = Line2D(xs, ys, transform=fig.transFigure, color=colour, lw=linewidth)
            fig.add_artist(line)
            lines.append(line)
    return lines


def show_segmentation_results(
    images: Sequence[Any],
    truths: Sequence[Any],
    predictions: Sequence[Any],
    classes: Sequence[str],
    palette: Any,
    alpha: float = 0.6,
    size: float = 1.8,
    ignore_index: int | None = None,
    dividers: bool = True,
) -> Figure:
    """One row per sample: the image, the ground truth, the prediction, and the errors in red.

    images: (3, H, W) each; truths, predictions: (H, W) class indices each. Pixels whose truth is
    ``ignore_index`` (VOC's 255 outlines) are neither errors nor counted in the share wrong.
    Each column is titled, and (``dividers``) a dark line separates each column from the next.
    """
    n = len(images)
    columns = min(len(classes), 7)  # VOC's 21 classes take three legend rows
    extra = 0.25 * (-(-len(classes) // columns) - 1)  # inches for the legend rows past the first
    fig, axes = plt.subplots(n, 4, figsize=(4 * size, n * size + 0.5 + extra), squeeze=False)
    for row, (image, truth, prediction) in enumerate(zip(images, truths, predictions)):
        panels = [
            as_numpy_image(image),
            overlay(image, truth, palette, alpha),
            overlay(image, prediction, palette, alpha),
            error_overlay(image, truth, prediction, ignore_index=ignore_index),
        ]
        labelled = _as_array(truth) != (-1 if ignore_index is None else ignore_index)
        wrong = float((_as_array(truth) != _as_array(prediction))[labelled].mean()) if labelled.any() else 0.0
        for col, (ax, panel) in enumerate(zip(axes[row], panels)):
            ax.imshow(panel, interpolation="nearest")
            ax.set_title(["image", "ground truth", "prediction", "errors (red)"][col] if row == 0 else "", fontsize=8)
            ax.axis("off")
        axes[row, 3].text(
            0.03,
            0.97,
            f"{wrong:.1%} wrong",
            transform=axes[row, 3].transAxes,
            fontsize=7,
            va="top",
            color="white",
            bbox={"facecolor": "black", "alpha": 0.6, "pad": 1, "edgecolor": "none"},
        )
    fig.legend(
        handles=legend_handles(classes, palette),
        fontsize=7,
        loc="upper center",
        ncol=columns,
        frameon=False,
        bbox_to_anchor=(0.5, 1.0),
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.35 + extra) / (n * size + 0.5 + extra)), h_pad=0.4, w_pad=0.8)
    if dividers:
        add_dividers(fig, columns=[axes[:, col] for col in range(4)])
    return fig


def show_grids(grids: Sequence[Any], titles: Sequence[str], size: float = 1.6, fmt: str = "{:g}") -> Figure:
    """Small 2-D arrays side by side, each cell shaded and labelled with its value (for kernels,
    feature maps and the like)."""
    fig, axes = plt.subplots(1, len(grids), figsize=(size * len(grids), size + 0.3), squeeze=False)
    for ax, grid, title in zip(axes[0], grids, titles):
        values = _as_array(grid).astype(np.float64)
        ax.imshow(values, cmap="Blues", vmin=min(values.min(), 0), vmax=max(values.max(), 1e-9))
        for (i, j), v in np.ndenumerate(values):
            ax.text(
                j,
                i,
                fmt.format(v),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if v > values.max() / 2 and v > 0 else "black",
            )
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def show_maps(
    maps: Any, titles: Sequence[str] | None = None, ncols: int = 8, size: float = 1.3, cmap: str = "viridis"
) -> Figure:
    """A grid of single-channel maps (K, h, w), e.g. one layer's feature maps, each on its own colour scale."""
    maps = _as_array(maps)
    n = len(maps)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows + 0.25 * (titles is not None)), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(maps[i], cmap=cmap, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize=7)
    fig.tight_layout()
    return fig


def show_heatmaps(
    images: Sequence[Any],
    heatmaps: Any,
    titles: Sequence[str] | None = None,
    alpha: float = 0.8,
    size: float = 1.6,
    cmap: str = "jet",
) -> Figure:
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


def show_localisations(
    images: Sequence[Any],
    true_boxes: Any,
    pred_boxes: Any = None,
    titles: Sequence[str] | None = None,
    title_colours: Sequence[str] | None = None,
    ncols: int = 6,
    size: float = 1.8,
    legend: bool = True,
) -> Figure:
    """A grid of pictures, each with its true box (solid lime) and its predicted box (dashed red).

    true_boxes, pred_boxes: (N, 4) XYXY in pixels, one per picture (``pred_boxes=None``: the true
    boxes only). With predictions and ``legend``, a key above the grid's right end names both.
    """
    true_boxes = _as_array(true_boxes).reshape(-1, 4)
    pred_boxes = None if pred_boxes is None else _as_array(pred_boxes).reshape(-1, 4)
    if len(images) != len(true_boxes) or (pred_boxes is not None and len(pred_boxes) != len(images)):
        raise ValueError(
            f"need one true and one predicted box per image: {len(images)} images, {len(true_boxes)} "
            f"true boxes, {'no' if pred_boxes is None else len(pred_boxes)} predicted boxes"
        )
    fig = show_images(images, titles, ncols=ncols, size=size, title_colours=title_colours)
    for i, ax in enumerate(fig.axes[: len(images)]):
        draw_boxes(ax, true_boxes[i : i + 1], colours=[TRUE_BOX_COLOUR])
        if pred_boxes is not None:
            draw_boxes(ax, pred_boxes[i : i + 1], colours=[PREDICTED_BOX_COLOUR], linestyle="--")
    if pred_boxes is not None and legend:
        fig.legend(
            handles=[
                box_handle(TRUE_BOX_COLOUR, "true box"),
                box_handle(PREDICTED_BOX_COLOUR, "predicted box", linestyle="--"),
            ],
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            ncol=2,
            fontsize=7,
            frameon=False,
            handlelength=2.5,
        )
    return fig


def box_handle(colour: Any, label: str, linestyle: LineStyleType = "-") -> Patch:
    """A legend entry for boxes drawn by :func:`draw_boxes` in ``colour`` (outline included)."""
    return Patch(
        facecolor="none",
        edgecolor=colour,
        linestyle=linestyle,
        linewidth=1.5,
        label=label,
        path_effects=_outline(1.5, colour, True),
    )


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
    ax.set_title(
        f"XYXY ({x1:g}, {y1:g}, {x2:g}, {y2:g}) · XYWH ({x1:g}, {y1:g}, {x2 - x1:g}, {y2 - y1:g})\n"
        f"CXCYWH ({cx:g}, {cy:g}, {x2 - x1:g}, {y2 - y1:g})",
        fontsize=8,
    )
    ax.axis("off")
    return fig


OUTCOME_COLOURS = {
    "correct": "tab:green",
    "duplicate": "tab:orange",
    "wrong class": "tab:purple",
    "poor box": "tab:red",
    "background": "tab:red",
}
"""The colour of each detection outcome (see ``cvlearn.metrics.detection.detection_outcomes``)."""


MISSED_BOX_COLOUR = "white"
"""Ground-truth boxes no detection found are drawn dashed in white."""

_OUTCOMES_KEY = "cvlearn-outcomes"
"""The gid that marks a figure's outcome key, so that several panels add it only once."""


def outcome_handles() -> list[Patch]:
    """The key to :func:`show_detection_outcomes`: one entry per outcome colour, then the missed boxes."""
    return [
        box_handle(OUTCOME_COLOURS["correct"], "correct (true positive)"),
        box_handle(OUTCOME_COLOURS["duplicate"], "duplicate"),
        box_handle(OUTCOME_COLOURS["wrong class"], "wrong class"),
        box_handle(OUTCOME_COLOURS["poor box"], "poor box or background"),
        box_handle(MISSED_BOX_COLOUR, "missed (false negative)", linestyle="--"),
    ]


def show_detection_outcomes(
    image: Any,
    prediction: dict,
    target: dict,
    outcomes: Sequence[str],
    missed: Any,
    class_names: Sequence[str],
    ax: Any = None,
    title: str | None = None,
    legend: bool = True,
) -> Figure:
    """Detections coloured by outcome (green correct, orange duplicate, purple wrong class, red
    poor box or background) and the ground-truth boxes nobody found (dashed white).

    prediction: ``boxes`` (D, 4) XYXY, ``scores``, ``labels``; target: ``boxes`` (G, 4), ``labels``;
    outcomes: (D,) strings; missed: (G,) bool. With ``legend``, the figure gets one key to the
    colours above its panels (once, however many panels call this).
    """
    fig, ax = _axes(ax, (3.2, 3.2))
    ax.imshow(as_numpy_image(image), interpolation="nearest")
    missed = _as_array(missed).astype(bool).reshape(-1)
    gt_boxes, gt_labels = _as_array(target["boxes"]).reshape(-1, 4), _as_array(target["labels"]).reshape(-1)
    draw_boxes(
        ax,
        gt_boxes[missed],
        gt_labels[missed],
        None,
        class_names,
        colours=[MISSED_BOX_COLOUR] * int(missed.sum()),
        linestyle="--",
        linewidth=1.2,
    )
    draw_boxes(
        ax,
        prediction["boxes"],
        prediction["labels"],
        prediction["scores"],
        class_names,
        colours=[OUTCOME_COLOURS[o] for o in outcomes],
    )
    ax.set_title(title or "", fontsize=8)
    ax.axis("off")
    if legend and not any(lg.get_gid() == _OUTCOMES_KEY for lg in fig.legends):
        key = fig.legend(
            handles=outcome_handles(),
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=int(np.clip(fig.get_figwidth() // 1.6, 1, 5)),
            fontsize=7,
            frameon=False,
            handlelength=2.5,
        )
        key.set_gid(_OUTCOMES_KEY)
    return fig


def show_grid(
    image: Any,
    stride: int,
    points: Any = None,
    anchors: Any = None,
    ax: Any = None,
    title: str | None = None,
    point_colours: Any = None,
) -> Figure:
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
        ax.scatter(
            p[:, 0] - 0.5,
            p[:, 1] - 0.5,
            s=6,
            c="yellow" if point_colours is None else point_colours,
            edgecolors="black",
            linewidths=0.3,
            zorder=3,
        )
    if anchors is not None:
        a = _as_array(anchors).reshape(-1, 4)
        draw_boxes(ax, a, colours=[INSTANCE_COLOURS[i % len(INSTANCE_COLOURS)] for i in range(len(a))], linewidth=1)
    ax.set(xlim=(-0.5, w - 0.5), ylim=(h - 0.5, -0.5))
    ax.set_title(title or "", fontsize=8)
    ax.axis("off")
    return fig


def _zoom_window(
    curves: Sequence[tuple[Any, Any]], interpolated: Sequence[Any] | None, zoom: Any
) -> tuple[float, float, float, float]:
    """(recall from, recall to, precision from, precision to) of the zoomed view."""
    if zoom is not True:
        x0, x1, y0, y1 = (float(v) for v in zoom)
        return x0, x1, y0, y1
    # precision 0.9 to 1, from a little before the first recall where any curve drops below 0.995
    first = 1.0
    for i, (precision, recall) in enumerate(curves):
        if interpolated is not None:
            envelope = _as_array(interpolated[i]).astype(np.float64)
            recall, precision = np.linspace(0, 1, len(envelope)), envelope
        precision, recall = _as_array(precision).astype(np.float64), _as_array(recall).astype(np.float64)
        low = np.nonzero(precision < 0.995)[0]
        if len(low):
            first = min(first, float(recall[low[0]]))
    return min(np.floor(first * 10) / 10, 0.8), 1.005, 0.9, 1.004


def plot_precision_recall(
    curves: Sequence[tuple[Any, Any]],
    labels: Sequence[str],
    interpolated: Sequence[Any] | None = None,
    ax: Any = None,
    title: str = "precision-recall",
    zoom: Any = False,
    fill: bool | None = None,
) -> Figure:
    """Precision-recall curves: ``curves[i] = (precision, recall)`` drawn as a thin line; with
    ``interpolated[i]`` (101 precisions at recall 0, 0.01, ..., 1) also their COCO envelope, a
    thicker step line in the same colour (whose mean is the AP).

    fill: shade the area under each envelope; by default only when there is one curve (the
    shadings of several curves merge into one colour). zoom: True adds an inset that magnifies
    the high-precision corner (precision 0.9 to 1, recall from where the first curve falls
    below 0.995), where good detectors differ; or (recall from, to, precision from, to).
    """
    fig, ax = _axes(ax, (4, 3.2))
    fill = len(curves) == 1 if fill is None else fill
    targets = [ax]
    inset = None
    if zoom is not False and zoom is not None:
        inset = ax.inset_axes([0.38, 0.16, 0.56, 0.5])
        targets.append(inset)
    for target in targets:
        for i, ((precision, recall), label) in enumerate(zip(curves, labels)):
            colour = INSTANCE_COLOURS[i % len(INSTANCE_COLOURS)]
            target.plot(
                _as_array(recall),
                _as_array(precision),
                color=colour,
                lw=0.9,
                alpha=0.8,
                label=f"{label} (raw)" if interpolated is not None else label,
            )
            if interpolated is not None:
                steps = np.linspace(0, 1, len(interpolated[i]))
                envelope = _as_array(interpolated[i])
                target.step(
                    steps,
                    envelope,
                    where="post",
                    color=colour,
                    lw=1.8,
                    alpha=0.9,
                    linestyle=["-", "--", ":", "-."][i % 4],
                    label=f"{label} (envelope)",
                )
                if fill:
                    target.fill_between(steps, envelope, step="post", color=colour, alpha=0.15, lw=0)
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0, 1.02), title=title)
    handles, names = ax.get_legend_handles_labels()
    if interpolated is not None:  # one entry per curve: its envelope's style names it
        handles, names = handles[1::2], [n[: -len(" (envelope)")] for n in names[1::2]]
    ax.legend(handles, names, fontsize=7, loc="lower left")
    if inset is not None:
        x0, x1, y0, y1 = _zoom_window(curves, interpolated, zoom)
        inset.set(xlim=(x0, x1), ylim=(y0, y1))
        inset.tick_params(labelsize=6)
        inset.set_title(f"zoom: precision {y0:g} to 1", fontsize=7)
        ax.indicate_inset_zoom(inset, edgecolor="0.3")
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
