"""Ellipses and the 3-D shapes whose axial cross-sections they are.

Patient coordinates in millimetres: ``x`` to the image right, ``y`` down (anterior is negative,
posterior positive), ``z`` along the body axis from the top of the torso downwards. Every phantom
structure and lesion is a shape whose cross-section at a slice position ``z`` is an
:class:`Ellipse` (or nothing), so neighbouring slices of a series are consistent by construction.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True)
class Ellipse:
    """An axial cross-section, mm.

    ``a`` is the semi-axis along direction ``theta`` (radians, from +x towards +y), ``b`` the
    other. ``y_max``, when set, cuts the ellipse at ``y <= y_max`` (a flat back on the table).
    """

    cx: float
    cy: float
    a: float
    b: float
    theta: float = 0.0
    y_max: float | None = None

    def scaled(self, factor: float) -> Ellipse:
        """Same centre and angle, both semi-axes times ``factor``."""
        return replace(self, a=self.a * factor, b=self.b * factor)

    def contains(self, x: float, y: float) -> bool:
        c, s = math.cos(self.theta), math.sin(self.theta)
        u = (x - self.cx) * c + (y - self.cy) * s
        v = (y - self.cy) * c - (x - self.cx) * s
        inside = (u / self.a) ** 2 + (v / self.b) ** 2 <= 1.0
        return inside and (self.y_max is None or y <= self.y_max)


class Shape(Protocol):
    """A 3-D shape, queried one axial cross-section at a time."""

    def section(self, z: float) -> Ellipse | None:
        """The cross-section at ``z`` mm, or ``None`` where the shape does not reach."""


@dataclass(frozen=True)
class Ellipsoid:
    """An ellipsoid with one axis along ``z`` (semi-axes ``a``, ``b`` in-plane, ``c`` in z), mm."""

    cx: float
    cy: float
    cz: float
    a: float
    b: float
    c: float
    theta: float = 0.0

    def section(self, z: float) -> Ellipse | None:
        t = (z - self.cz) / self.c
        if abs(t) >= 1.0:
            return None
        scale = math.sqrt(1.0 - t * t)
        return Ellipse(self.cx, self.cy, self.a * scale, self.b * scale, self.theta)

    def scaled(self, factor: float) -> Ellipsoid:
        """Same centre, all three semi-axes times ``factor`` (an inner layer)."""
        return replace(self, a=self.a * factor, b=self.b * factor, c=self.c * factor)


@dataclass(frozen=True)
class Tube:
    """An elliptic cross-section swept along z; every parameter is piecewise linear in z.

    All tuples have one entry per knot of ``z`` (increasing, mm). Outside ``[z[0], z[-1]]`` the tube
    does not exist.
    """

    z: tuple[float, ...]
    cx: tuple[float, ...]
    cy: tuple[float, ...]
    a: tuple[float, ...]
    b: tuple[float, ...]
    theta: tuple[float, ...] | None = None
    y_max: tuple[float, ...] | None = None

    def section(self, z: float) -> Ellipse | None:
        knots = self.z
        if z < knots[0] or z > knots[-1]:
            return None
        i = min(max(bisect.bisect_right(knots, z) - 1, 0), len(knots) - 2)
        span = knots[i + 1] - knots[i]
        t = (z - knots[i]) / span if span > 0 else 0.0

        def at(values: tuple[float, ...]) -> float:
            return values[i] + t * (values[i + 1] - values[i])

        a, b = at(self.a), at(self.b)
        if a <= 0.0 or b <= 0.0:
            return None
        return Ellipse(
            at(self.cx),
            at(self.cy),
            a,
            b,
            at(self.theta) if self.theta is not None else 0.0,
            at(self.y_max) if self.y_max is not None else None,
        )

    def scaled(self, factor: float, inset_mm: float = 0.0) -> Tube:
        """Same centre line, semi-axes times ``factor`` minus ``inset_mm`` (an inner layer)."""
        return replace(
            self,
            a=tuple(v * factor - inset_mm for v in self.a),
            b=tuple(v * factor - inset_mm for v in self.b),
            y_max=None if self.y_max is None else tuple(v - inset_mm for v in self.y_max),
        )
