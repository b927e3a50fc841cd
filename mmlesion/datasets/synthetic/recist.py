"""RECIST measurements and bounding boxes, as a radiologist would draw them on the key slice.

The long axis is the lesion ellipse's major axis, the short axis its minor axis, each end point
displaced by a small hand-measurement error. The box is tight around the four end points plus a
margin (DeepLesion used 5 pixels at 512 x 512), clipped to the image.
"""

from __future__ import annotations

import math

import numpy as np

from .raster import SliceGrid
from .shapes import Ellipse


def measure_recist(
    ellipse: Ellipse, grid: SliceGrid, rng: np.random.Generator, error: float = 0.03
) -> tuple[tuple[float, ...], tuple[float, float]]:
    """RECIST end points of ``ellipse`` on ``grid``.

    Args:
        ellipse: the lesion cross-section on the key slice, mm (``a >= b``).
        error: standard deviation of each end point's error, as a fraction of the long diameter.

    Returns:
        ``(x1, y1, x2, y2, x3, y3, x4, y4)`` pixels (long axis, then short axis; clipped to the
        image) and the ``(long, short)`` diameters in pixels.
    """
    cx, cy = grid.to_px(ellipse.cx, ellipse.cy)
    a, b = ellipse.a / grid.spacing_mm, ellipse.b / grid.spacing_mm
    c, s = math.cos(ellipse.theta), math.sin(ellipse.theta)
    points = np.array(
        [
            [cx + a * c, cy + a * s],
            [cx - a * c, cy - a * s],
            [cx - b * s, cy + b * c],
            [cx + b * s, cy - b * c],
        ]
    )
    points += rng.normal(0.0, error * 2.0 * a, size=points.shape)
    points = np.clip(points, 0.0, grid.size_px - 1.0)
    long_px = float(np.linalg.norm(points[0] - points[1]))
    short_px = float(np.linalg.norm(points[2] - points[3]))
    if short_px > long_px:
        points = points[[2, 3, 0, 1]]
        long_px, short_px = short_px, long_px
    return tuple(round(float(v), 3) for v in points.ravel()), (
        round(long_px, 3),
        round(short_px, 3),
    )


def recist_box(
    recist_px: tuple[float, ...], image_size: int, margin_px: float
) -> tuple[float, float, float, float]:
    """``(x1, y1, x2, y2)`` pixels around the end points plus ``margin_px``, inside the image."""
    xs, ys = recist_px[0::2], recist_px[1::2]
    hi = image_size - 1.0
    return (
        max(0.0, min(xs) - margin_px),
        max(0.0, min(ys) - margin_px),
        min(hi, max(xs) + margin_px),
        min(hi, max(ys) + margin_px),
    )


def box_margin_px(image_size: int) -> float:
    """DeepLesion's 5-pixel box margin at 512 pixels, scaled with the image (at least 2)."""
    return max(2.0, round(5.0 * image_size / 512.0))
