"""Bones of the phantom: spine with discs, rib cage, sternum and pelvis.

Bones are cortical shells (+700..+1100 HU) around cancellous bone (+110..+300 HU, lower with age)
and host the ``bone`` lesions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .frame import Level, TorsoFrame
from .parts import Layered, Part, Section, Structure
from .shapes import Ellipse, Ellipsoid, Tube
from .tissues import Tissue

#: Torso position where the lumbar spine gives way to the sacrum.
SACRUM_U = 0.74


def _cortex_and_marrow(shape: Tube | Ellipsoid, marrow_scale: float = 0.75) -> Layered:
    return Layered(
        (
            Structure(shape, Tissue.CORTICAL_BONE, 0.6),
            Structure(shape.scaled(marrow_scale), Tissue.CANCELLOUS_BONE, 0.6),
        )
    )


@dataclass(frozen=True)
class Spine:
    """Vertebral bodies separated by discs, posterior elements and the spinal canal."""

    body: Tube
    canal: Tube
    posterior: tuple[Tube, ...]
    #: Vertebral level height, disc thickness and where the first disc starts, mm.
    level_mm: float
    disc_mm: float
    phase_mm: float

    def sections(self, z: float) -> Sequence[Section]:
        body = self.body.section(z)
        if body is None:
            return ()
        out = []
        if (z - self.phase_mm) % self.level_mm < self.disc_mm:
            out.append(Section(body, Tissue.DISC, 0.8))
        else:
            marrow = replace(body, a=body.a - 2.5, b=body.b - 2.5)
            out += [
                Section(body, Tissue.CORTICAL_BONE, 0.6),
                Section(marrow, Tissue.CANCELLOUS_BONE),
            ]
        for tube in self.posterior:
            ellipse = tube.section(z)
            if ellipse is not None:
                out.append(Section(ellipse, Tissue.CORTICAL_BONE, 0.6))
        canal = self.canal.section(z)
        if canal is not None:
            out.append(Section(canal, Tissue.CSF))
        return out


def sample_spine(rng: np.random.Generator, frame: TorsoFrame) -> Spine:
    us = (0.0, 0.15, 0.28, 0.40, 0.52, 0.64, SACRUM_U)

    def canal_r(lv: Level) -> float:
        return 0.3 * lv.vertebra_r + 3.5

    def side(sign: int):
        def pedicle(lv: Level) -> tuple[float, ...]:
            return (sign * 0.55 * lv.vertebra_r, lv.canal_y - 0.2 * canal_r(lv), 4.0, 8.0)

        def lamina(lv: Level) -> tuple[float, ...]:
            r = canal_r(lv)
            return (sign * 0.75 * r, lv.canal_y + 0.9 * r, 0.9 * r, 3.5, -sign * 0.7)

        def transverse(lv: Level) -> tuple[float, ...]:
            r = canal_r(lv)
            return (
                sign * (r + 0.55 * lv.vertebra_r + 4.0),
                lv.canal_y - 2.0,
                0.45 * lv.vertebra_r + 3.0,
                3.5,
                sign * 0.25,
            )

        return [frame.tube(us, pedicle), frame.tube(us, lamina), frame.tube(us, transverse)]

    def spinous(lv: Level) -> tuple[float, ...]:
        return (0.0, lv.canal_y + canal_r(lv) + 14.0, 4.0, 13.0)

    return Spine(
        body=frame.tube(us, lambda lv: (0.0, lv.vertebra_y, lv.vertebra_r * 1.08, lv.vertebra_r)),
        canal=frame.tube(us, lambda lv: (0.0, lv.canal_y, canal_r(lv), canal_r(lv) * 0.9)),
        posterior=(*side(-1), *side(1), frame.tube(us, spinous)),
        level_mm=rng.uniform(24.0, 30.0),
        disc_mm=rng.uniform(5.0, 9.0),
        phase_mm=rng.uniform(0.0, 30.0),
    )


@dataclass(frozen=True)
class RibCage:
    """Rib cross-sections sliding along the chest wall as z advances (ribs run obliquely).

    On each side ``count`` ribs sit on ``ring`` between the posterior arc next to the spine and
    the anterior arc next to the sternum; moving caudally by ``pitch_mm`` advances every rib by
    one slot. Anterior ends are costal cartilage.
    """

    ring: Tube
    count: int
    pitch_mm: float
    phase: float
    along_mm: float
    across_mm: float

    def sections(self, z: float) -> Sequence[Section]:
        ring = self.ring.section(z)
        if ring is None:
            return ()
        out = []
        for k in range(self.count):
            s = ((k + z / self.pitch_mm + self.phase) % self.count) / self.count
            phi = math.radians(108.0 + 137.0 * s)
            x, y = ring.a * math.cos(phi), ring.b * math.sin(phi)
            theta = math.atan2(ring.b * math.cos(phi), -ring.a * math.sin(phi))
            for sign in (1.0, -1.0):
                rib = Ellipse(sign * x, y, self.along_mm, self.across_mm, sign * theta)
                if s > 0.82:
                    out.append(Section(rib.scaled(1.1), Tissue.CARTILAGE, 0.8))
                else:
                    out.append(Section(rib, Tissue.CORTICAL_BONE, 0.6))
                    out.append(Section(rib.scaled(0.55), Tissue.CANCELLOUS_BONE, 0.6))
        return out


def sample_rib_cage(rng: np.random.Generator, frame: TorsoFrame) -> RibCage:
    us = (0.03, 0.10, 0.28, 0.40, 0.53)

    def ring(lv: Level) -> tuple[float, ...]:
        return (0.0, 0.0, lv.cavity_a + 0.45 * lv.muscle, lv.cavity_b + 0.45 * lv.muscle)

    return RibCage(
        ring=frame.tube(us, ring),
        count=int(rng.integers(6, 8)),
        pitch_mm=rng.uniform(16.0, 22.0),
        phase=rng.uniform(0.0, 7.0),
        along_mm=rng.uniform(6.5, 9.0),
        across_mm=rng.uniform(3.3, 4.3),
    )


def sample_skeleton(rng: np.random.Generator, frame: TorsoFrame) -> list[Part]:
    """Spine, ribs, sternum, sacrum, iliac wings, hip joints and pubis, in paint order."""
    length = frame.length_mm
    parts: list[Part] = [sample_spine(rng, frame), sample_rib_cage(rng, frame)]
    sternum = frame.tube(
        (0.08, 0.2, 0.34), lambda lv: (0.0, -lv.cavity_b - 0.45 * lv.muscle, 15.0, 6.0)
    )
    parts.append(_cortex_and_marrow(sternum, 0.6))

    def sacrum(lv: Level) -> tuple[float, ...]:
        t = (lv.u - SACRUM_U) / (0.9 - SACRUM_U)
        return (
            0.0,
            lv.vertebra_y + 5.0 + 20.0 * t,
            lv.cavity_a * (0.3 - 0.17 * t),
            lv.vertebra_r * (0.85 - 0.4 * t),
        )

    parts.append(_cortex_and_marrow(frame.tube((SACRUM_U, 0.82, 0.9), sacrum), 0.8))
    mid = frame.level(0.94)
    for sign in (-1.0, 1.0):
        wing_a = (25.0, 50.0, 55.0, 35.0)
        wing_b = (5.0, 7.0, 10.0, 16.0)
        wing_t = (0.55, 0.7, 0.8, 0.9)
        wing_us = (0.66, 0.72, 0.82, 0.9)
        rows = [frame.level(u) for u in wing_us]
        wing = Tube(
            z=tuple(u * length for u in wing_us),
            cx=tuple(sign * 0.52 * lv.cavity_a for lv in rows),
            cy=tuple(lv.vertebra_y - 4.0 for lv in rows),
            a=wing_a,
            b=wing_b,
            theta=tuple(-sign * t for t in wing_t),
        )
        parts.append(_cortex_and_marrow(wing, 0.6))
        hip = Ellipsoid(
            sign * 0.6 * mid.cavity_a,
            mid.cavity_mid + 0.1 * mid.cavity_half_depth,
            0.94 * length,
            26.0,
            26.0,
            0.05 * length,
        )
        parts.append(_cortex_and_marrow(hip, 0.88))
        pubis = Ellipsoid(
            sign * 24.0,
            mid.cavity_front + 16.0,
            0.975 * length,
            24.0,
            9.0,
            0.025 * length,
            -sign * 0.35,
        )
        parts.append(_cortex_and_marrow(pubis, 0.6))
    return parts
