"""The pixel grid of a slice and the painter that draws soft-edged ellipses into it.

Painting works on the ellipse's bounding box only, so a slice with dozens of structures costs a
few full-image operations. Edges are ramps about ``edge_mm`` wide (at least half a pixel), which
both anti-aliases boundaries and models the partial-volume blur of a CT reconstruction.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .shapes import Ellipse
from .tissues import Tissue


@dataclass(frozen=True)
class SliceGrid:
    """A square axial pixel grid placed in patient coordinates.

    Pixel ``(i, j)`` (row, column) has its centre at ``x = cx + (j - c) * spacing_mm``,
    ``y = cy + (i - c) * spacing_mm`` with ``c = (size_px - 1) / 2``.
    """

    size_px: int
    spacing_mm: float
    center_mm: tuple[float, float] = (0.0, 0.0)

    @property
    def field_of_view_mm(self) -> float:
        return self.size_px * self.spacing_mm

    def to_px(self, x_mm: float, y_mm: float) -> tuple[float, float]:
        """Patient ``(x, y)`` mm to pixel ``(x, y)`` (column, row), 0-based, sub-pixel."""
        c = (self.size_px - 1) / 2.0
        return (
            c + (x_mm - self.center_mm[0]) / self.spacing_mm,
            c + (y_mm - self.center_mm[1]) / self.spacing_mm,
        )

    def to_mm(self, x_px: float, y_px: float) -> tuple[float, float]:
        """Pixel ``(x, y)`` to patient ``(x, y)`` mm; inverse of :meth:`to_px`."""
        c = (self.size_px - 1) / 2.0
        return (
            self.center_mm[0] + (x_px - c) * self.spacing_mm,
            self.center_mm[1] + (y_px - c) * self.spacing_mm,
        )

    def y_mm(self) -> np.ndarray:
        """Patient y of each row, ``(size_px, 1) float32`` mm."""
        _, y0 = self.to_mm(0.0, 0.0)
        return (y0 + np.arange(self.size_px, dtype=np.float32) * self.spacing_mm)[:, None]


#: Bounding-box slices and the coverage weight in ``[0, 1]`` of one painted ellipse.
Patch = tuple[tuple[slice, slice], np.ndarray]


def ellipse_weight(grid: SliceGrid, ellipse: Ellipse, edge_mm: float) -> Patch | None:
    """Coverage of ``ellipse`` on ``grid``: 1 inside, 0 outside, a linear ramp across the edge.

    Returns:
        ``((rows, cols), weight)`` with ``weight: (h, w) float32`` on the clipped bounding box, or
        ``None`` when the ellipse misses the grid.
    """
    s = grid.spacing_mm
    cx, cy = grid.to_px(ellipse.cx, ellipse.cy)
    a, b = max(ellipse.a / s, 0.25), max(ellipse.b / s, 0.25)
    edge = max(edge_mm / s, 0.5)
    cos_t, sin_t = math.cos(ellipse.theta), math.sin(ellipse.theta)
    half_w = math.hypot(a * cos_t, b * sin_t) + edge + 1.0
    half_h = math.hypot(a * sin_t, b * cos_t) + edge + 1.0
    n = grid.size_px
    x0, x1 = max(int(cx - half_w), 0), min(int(cx + half_w) + 2, n)
    y0, y1 = max(int(cy - half_h), 0), min(int(cy + half_h) + 2, n)
    if ellipse.y_max is not None:
        y1 = min(y1, int(grid.to_px(0.0, ellipse.y_max)[1] + edge) + 2)
    if x0 >= x1 or y0 >= y1:
        return None
    xs = np.arange(x0, x1, dtype=np.float32) - np.float32(cx)
    ys = (np.arange(y0, y1, dtype=np.float32) - np.float32(cy))[:, None]
    if abs(sin_t) < 1e-6:
        q = (xs / np.float32(a)) ** 2 + (ys / np.float32(b)) ** 2
    else:
        u = xs * np.float32(cos_t / a) + ys * np.float32(sin_t / a)
        v = ys * np.float32(cos_t / b) - xs * np.float32(sin_t / b)
        q = u * u + v * v
    # Near the boundary 1 - q ~ 2 (1 - rho): the ramp is ``edge`` pixels wide across the minor axis.
    weight = (1.0 - q) * np.float32(min(a, b) / (2.0 * edge)) + np.float32(0.5)
    np.clip(weight, 0.0, 1.0, out=weight)
    if ellipse.y_max is not None:
        y_cut = grid.to_px(0.0, ellipse.y_max)[1]
        ramp = np.clip((np.float32(y_cut) - np.float32(cy) - ys) / np.float32(edge) + 0.5, 0, 1)
        weight = weight * ramp
    return (slice(y0, y1), slice(x0, x1)), weight


@functools.cache
def _membership(tissues: frozenset[Tissue]) -> np.ndarray:
    """``lut[label]`` is 1.0 for the given tissues, else 0.0."""
    lut = np.zeros(256, np.float32)
    lut[list(tissues)] = 1.0
    return lut


class Canvas:
    """One slice being painted: HU ``(N, N) float32`` and tissue labels ``(N, N) uint8``.

    Structures are painted back to front; each blends its value in by its coverage weight and
    takes over the label where it covers at least half a pixel.
    """

    def __init__(self, grid: SliceGrid, background_hu: float = -1000.0):
        self.grid = grid
        n = grid.size_px
        self.hu = np.full((n, n), background_hu, np.float32)
        self.labels = np.full((n, n), Tissue.AIR, np.uint8)

    def paint(
        self,
        ellipse: Ellipse,
        value_hu: float,
        tissue: Tissue,
        edge_mm: float = 0.8,
        within: frozenset[Tissue] | None = None,
    ) -> Patch | None:
        """Blend ``value_hu`` into the ellipse; returns its patch (``None`` if off the grid).

        ``within`` restricts the paint to pixels currently labelled one of those tissues (the
        lungs fill the chest cavity and nothing else).
        """
        patch = ellipse_weight(self.grid, ellipse, edge_mm)
        if patch is None:
            return None
        box, weight = patch
        labels = self.labels[box]
        if within is not None:
            weight = weight * _membership(within)[labels]
        hu = self.hu[box]
        hu += weight * (np.float32(value_hu) - hu)
        labels[weight >= 0.5] = tissue
        return box, weight
