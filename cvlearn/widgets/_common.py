"""What every explorer needs to show a picture: PNG bytes for an ``ipywidgets.Image`` and its layout.

The explorers draw into an Image widget rather than calling ``plt.show`` inside an Output
widget, which hung headless kernels.
"""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from ..plot import as_numpy_image

__all__ = ["PICTURE_LAYOUT", "enlarge", "figure_png", "png_bytes"]

PICTURE_LAYOUT = {"align_self": "flex-start"}
"""Layout of the widgets' pictures: their own size (a VBox would stretch them to its width, blurred)."""


def figure_png(fig: Figure) -> bytes:
    """PNG bytes of ``fig`` (what ``ipywidgets.Image`` shows); the figure is closed afterwards."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return buffer.getvalue()


def enlarge(picture: np.ndarray, factor: int) -> np.ndarray:
    """(H·factor, W·factor, 3): every pixel a factor×factor block, so small images stay crisp."""
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}")
    return np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)


def png_bytes(picture: np.ndarray) -> bytes:
    """PNG-encoded bytes of an (H, W, 3) uint8 picture (what ``ipywidgets.Image`` displays)."""
    buffer = io.BytesIO()
    Image.fromarray(as_numpy_image(picture)).save(buffer, format="PNG")
    return buffer.getvalue()
