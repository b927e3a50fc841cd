"""A smooth, 3-D-consistent CT body phantom of one patient.

The torso (see :mod:`.frame`) is air outside, skin, subcutaneous fat (-100 HU), a muscle wall
(+50 HU) and a fat-filled cavity. Depending on z the cavity holds the thorax (lungs at -850 HU
with vessels, mediastinum, heart, great vessels, airways), the upper abdomen (liver, spleen,
stomach, pancreas, kidneys, aorta, IVC, bowel) or the pelvis (bladder, rectum, bowel, pelvic
organ), and the skeleton runs through all of it. Organ values depend on the contrast phase
(:class:`~.tissues.Phase`). Rendering a slice is painting each part's cross-section at that z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frame import Level, TorsoFrame, sample_frame
from .organs import INSIDE_BODY, abdomen_parts, pelvis_parts, thorax_parts
from .parts import Part, Structure, walled
from .raster import Canvas
from .shapes import Ellipsoid, Tube
from .skeleton import sample_skeleton
from .tissues import Phase, Tissue, sample_patient_hu
from .vessels import VesselTree, sample_vessel_tree


@dataclass(frozen=True)
class Anatomy:
    """One patient's phantom: its frame, parts in paint order and HU table."""

    frame: TorsoFrame
    parts: tuple[Part, ...]
    vessels: VesselTree
    #: HU per tissue and phase, ``(len(Tissue), 2)``.
    tissue_hu: np.ndarray
    #: Dependent-lung density gradient, HU per mm towards the back.
    lung_gradient_hu_per_mm: float

    @property
    def length_mm(self) -> float:
        return self.frame.length_mm

    def hu(self, tissue: Tissue, phase: Phase) -> float:
        """Nominal HU of ``tissue`` in this patient."""
        return float(self.tissue_hu[tissue, phase])

    def lung_hu(self, y_mm: float, phase: Phase) -> float:
        """Lung parenchyma HU at height ``y_mm`` (denser towards the back when supine)."""
        return self.hu(Tissue.LUNG, phase) + self.lung_gradient_hu_per_mm * y_mm


def _body_wall(frame: TorsoFrame) -> list[Part]:
    """Skin, subcutaneous fat, muscle wall and the fat-filled cavity, each flat on the table."""
    us = tuple(lv.u for lv in frame.levels)

    def layer(depth: int) -> Tube:
        def section(lv: Level) -> tuple[float, ...]:
            # Inset of the outer boundary of layer ``depth`` (skin 2 mm, fat, muscle).
            side = (0.0, 2.0, 2.0 + lv.fat, 2.0 + lv.fat + lv.muscle)[depth]
            back = (0.0, 2.0, 2.0 + 0.5 * lv.fat, 2.0 + 0.5 * lv.fat + lv.muscle)[depth]
            return (0.0, 0.0, lv.body_a - side, lv.body_b - side, 0.0, lv.body_back - back)

        return frame.tube(us, section)

    tissues = (Tissue.SKIN, Tissue.SUBCUTANEOUS_FAT, Tissue.MUSCLE, Tissue.VISCERAL_FAT)
    return [Structure(layer(depth), tissue, 1.0) for depth, tissue in enumerate(tissues)]


_BOWEL_CONTENTS = (Tissue.BOWEL_FLUID, Tissue.BOWEL_GAS, Tissue.BOWEL)


def _bowel(rng: np.random.Generator, frame: TorsoFrame) -> list[Part]:
    """Small-bowel loops and colon: walled blobs holding fluid, gas or collapsed wall."""
    parts: list[Part] = []
    for _ in range(int(rng.integers(45, 70))):
        u = rng.uniform(0.5, 0.9)
        lv = frame.level(u)
        radius = rng.uniform(9.0, 18.0)
        angle = rng.uniform(0.0, 2 * np.pi)
        rho = np.sqrt(rng.uniform(0.0, 1.0)) * 0.8
        # Loops fill the anterior cavity, in front of the spine and kidneys.
        cx = rho * np.cos(angle) * (lv.cavity_a - radius)
        cy = lv.cavity_mid - 0.2 * lv.cavity_half_depth
        cy += rho * np.sin(angle) * (0.75 * lv.cavity_half_depth - radius)
        flat = radius * rng.uniform(0.7, 1.0)
        blob = Ellipsoid(cx, cy, lv.z, radius, flat, rng.uniform(12.0, 35.0), rng.uniform(0, np.pi))
        content = _BOWEL_CONTENTS[int(rng.choice(3, p=[0.5, 0.25, 0.25]))]
        parts.append(walled(blob, 2.5, Tissue.BOWEL, content))
    for sign in (-1.0, 1.0):
        colon = frame.tube(
            (0.48, 0.6, 0.72, 0.8),
            lambda lv, s=sign: (s * 0.72 * lv.cavity_a, lv.cavity_mid, 20.0, 18.0),
        )
        parts.append(walled(colon, 2.5, Tissue.BOWEL, Tissue.BOWEL_GAS))
    return parts


def sample_anatomy(rng: np.random.Generator, gender: str, age_years: float) -> Anatomy:
    """A random adult phantom; ``gender`` is ``'M'`` or ``'F'``, ``age_years`` sets bone density."""
    frame = sample_frame(rng, gender)
    parts: list[Part] = _body_wall(frame)
    parts += _bowel(rng, frame)
    parts += thorax_parts(frame)
    parts += abdomen_parts(rng, frame)
    parts += pelvis_parts(rng, frame, gender)
    for sign in (-1.0, 1.0):
        paraspinal = frame.tube(
            tuple(lv.u for lv in frame.levels),
            lambda lv, s=sign: (
                s * (0.5 * lv.vertebra_r + 24.0),
                lv.canal_y + 6.0,
                14.0 + 0.6 * lv.vertebra_r,
                24.0,
            ),
        )
        parts.append(Structure(paraspinal, Tissue.MUSCLE, within=INSIDE_BODY))
    parts += sample_skeleton(rng, frame)
    return Anatomy(
        frame=frame,
        parts=tuple(parts),
        vessels=sample_vessel_tree(rng, frame),
        tissue_hu=sample_patient_hu(rng, age_years),
        lung_gradient_hu_per_mm=rng.uniform(0.15, 0.35),
    )


def paint_anatomy(canvas: Canvas, anatomy: Anatomy, z_mm: float, phase: Phase) -> None:
    """Paint every part's cross-section at ``z_mm`` onto ``canvas`` (constant HU per tissue)."""
    column = anatomy.tissue_hu[:, phase]
    for part in anatomy.parts:
        for section in part.sections(z_mm):
            canvas.paint(
                section.ellipse,
                float(column[section.tissue]),
                section.tissue,
                section.edge_mm,
                section.within,
            )
