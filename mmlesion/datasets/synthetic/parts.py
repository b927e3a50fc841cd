"""Phantom parts: anything that yields the tissue ellipses to paint at a slice position."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from .shapes import Ellipse, Ellipsoid, Shape, Tube
from .tissues import Tissue


class Section(NamedTuple):
    """One ellipse to paint: its tissue, edge width (mm) and optional host restriction."""

    ellipse: Ellipse
    tissue: Tissue
    edge_mm: float = 0.8
    within: frozenset[Tissue] | None = None


class Part(Protocol):
    """A piece of anatomy, painted in list order (later parts cover earlier ones)."""

    def sections(self, z: float) -> Sequence[Section]:
        """What to paint at slice position ``z`` mm, back to front."""


@dataclass(frozen=True)
class Structure:
    """A single shape of one tissue."""

    shape: Shape
    tissue: Tissue
    edge_mm: float = 0.8
    within: frozenset[Tissue] | None = None

    def sections(self, z: float) -> Sequence[Section]:
        ellipse = self.shape.section(z)
        if ellipse is None:
            return ()
        return (Section(ellipse, self.tissue, self.edge_mm, self.within),)


@dataclass(frozen=True)
class Layered:
    """Nested shapes painted outside-in (organ wall then content, cortex then medulla)."""

    layers: tuple[Structure, ...]

    def sections(self, z: float) -> Sequence[Section]:
        return tuple(s for layer in self.layers for s in layer.sections(z))


def walled(shape: Tube | Ellipsoid, wall_mm: float, wall: Tissue, content: Tissue) -> Layered:
    """A hollow organ: ``shape`` of ``wall`` tissue holding ``content`` about ``wall_mm`` inside."""
    a = min(shape.a) if isinstance(shape, Tube) else shape.a
    b = min(shape.b) if isinstance(shape, Tube) else shape.b
    inner = shape.scaled(max(0.3, 1.0 - wall_mm / max(min(a, b), 1.0)))
    return Layered((Structure(shape, wall), Structure(inner, content)))
