"""Organs of the phantom's thorax, abdomen and pelvis, placed in the torso frame.

Positions and sizes are fractions of the cavity at the organ's level (see :func:`organ`), so
organs follow each patient's habitus; vessels and airways are placed relative to the spine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .frame import Level, TorsoFrame
from .parts import Layered, Part, Structure, walled
from .shapes import Ellipse, Ellipsoid, Tube
from .tissues import Tissue

#: The fat-filled cavity (the lungs fill it and nothing else).
CAVITY = frozenset({Tissue.VISCERAL_FAT})
#: Muscles may displace any soft tissue of the torso but never reach past the skin.
INSIDE_BODY = frozenset(set(Tissue) - {Tissue.AIR, Tissue.TABLE, Tissue.SKIN})


def organ(
    frame: TorsoFrame,
    u: float,
    x: float,
    y: float,
    a: float,
    b: float,
    c: float,
    theta: float = 0.0,
) -> Ellipsoid:
    """An ellipsoid centred at torso position ``u``.

    ``x`` and ``a`` are in cavity half-widths, ``y`` (from the cavity's middle) and ``b`` in
    cavity half-depths, ``c`` in torso lengths; ``theta`` in radians.
    """
    lv = frame.level(u)
    return Ellipsoid(
        x * lv.cavity_a,
        lv.cavity_mid + y * lv.cavity_half_depth,
        u * frame.length_mm,
        a * lv.cavity_a,
        b * lv.cavity_half_depth,
        c * frame.length_mm,
        theta,
    )


def _at_level(
    frame: TorsoFrame,
    u: float,
    place: Callable[[Level], tuple[float, float, float, float]],
    c: float,
    theta: float = 0.0,
) -> Ellipsoid:
    """An ellipsoid at torso position ``u`` with ``place(level) -> (cx, cy, a, b)`` in mm."""
    cx, cy, a, b = place(frame.level(u))
    return Ellipsoid(cx, cy, u * frame.length_mm, a, b, c * frame.length_mm, theta)


def _vessel(frame: TorsoFrame, us: tuple[float, ...], x: float, y: float, r: float) -> Tube:
    """A vessel at ``x`` half-widths, ``y`` half-depths from the cavity middle, radius ``r`` mm."""
    return frame.tube(
        us, lambda lv: (x * lv.cavity_a, lv.cavity_mid + y * lv.cavity_half_depth, r, r)
    )


def _ramp(lv: Level, u0: float, u1: float, v0: float, v1: float) -> float:
    """``v0`` at ``u0`` to ``v1`` at ``u1``, linear in the level's ``u`` and held outside."""
    return float(np.interp(lv.u, (u0, u1), (v0, v1)))


@dataclass(frozen=True)
class GasCap:
    """The gas bubble in the non-dependent (anterior) part of a fluid-filled organ."""

    shape: Ellipsoid
    level_y: float

    def section(self, z: float) -> Ellipse | None:
        ellipse = self.shape.section(z)
        return None if ellipse is None else replace(ellipse, y_max=self.level_y)


def thorax_parts(frame: TorsoFrame) -> list[Part]:
    """Lungs, mediastinum, heart, airways, oesophagus and great vessels."""
    length = frame.length_mm
    parts: list[Part] = []
    lung_us = (0.02, 0.07, 0.12, 0.34, 0.40, 0.45, 0.49)
    lung_scale = (0.35, 0.8, 0.98, 0.98, 0.9, 0.7, 0.35)
    rows = [(frame.level(u), s) for u, s in zip(lung_us, lung_scale, strict=True)]
    for sign in (-1.0, 1.0):
        lung = Tube(
            z=tuple(u * length for u in lung_us),
            cx=tuple(sign * 0.45 * lv.cavity_a for lv, _ in rows),
            cy=tuple(0.35 * lv.cavity_half_depth * (1 - s) for lv, s in rows),
            a=tuple(0.65 * lv.cavity_a * s for lv, s in rows),
            b=tuple(1.1 * lv.cavity_b * s for lv, s in rows),
        )
        parts.append(Structure(lung, Tissue.LUNG, within=CAVITY))

    def mediastinum(lv: Level) -> tuple[float, ...]:
        width = np.interp(lv.u, (0.02, 0.15, 0.26, 0.36, 0.43), (0.12, 0.16, 0.22, 0.24, 0.1))
        back = lv.vertebra_y
        return (
            _ramp(lv, 0.15, 0.3, 0.0, 0.06) * lv.cavity_a,
            0.5 * (back - lv.cavity_b),
            width * lv.cavity_a,
            0.5 * (back + lv.cavity_b) + 4.0,
        )

    parts.append(
        Structure(frame.tube((0.02, 0.15, 0.26, 0.36, 0.43), mediastinum), Tissue.MEDIASTINAL_FAT)
    )
    heart = organ(frame, 0.31, 0.14, -0.25, 0.42, 0.55, 0.075, -0.45)
    parts.append(
        Layered((Structure(heart, Tissue.MYOCARDIUM), Structure(heart.scaled(0.72), Tissue.BLOOD)))
    )

    def front_of_spine(offset: float, x: float, r: float) -> Callable[[Level], tuple]:
        return lambda lv: (x, lv.vertebra_y - lv.vertebra_r - offset, r, r)

    trachea = frame.tube((0.0, 0.21), front_of_spine(24.0, 0.0, 11.0))
    parts.append(walled(trachea, 2.0, Tissue.CARTILAGE, Tissue.AIRWAY))
    for sign in (-1.0, 1.0):
        bronchus = frame.tube(
            (0.2, 0.23, 0.26),
            lambda lv, s=sign: (
                s * _ramp(lv, 0.2, 0.26, 6.0, 0.3 * lv.cavity_a),
                lv.vertebra_y - lv.vertebra_r - _ramp(lv, 0.2, 0.26, 24.0, 12.0),
                _ramp(lv, 0.2, 0.26, 8.0, 5.0),
                _ramp(lv, 0.2, 0.26, 8.0, 5.0),
            ),
        )
        parts.append(walled(bronchus, 1.5, Tissue.CARTILAGE, Tissue.AIRWAY))
    parts.append(Structure(frame.tube((0.0, 0.41), front_of_spine(5.0, 12.0, 7.5)), Tissue.BOWEL))
    ascending_aorta = _vessel(frame, (0.11, 0.25), -0.1, -0.3, 16.0)
    superior_vena_cava = _vessel(frame, (0.08, 0.26), -0.3, -0.2, 10.5)
    pulmonary_trunk = _vessel(frame, (0.17, 0.25), 0.12, -0.45, 13.0)
    arch = _at_level(
        frame,
        0.1,
        lambda lv: (0.0, lv.vertebra_y - lv.vertebra_r - 45.0, 0.22 * lv.cavity_a, 13.0),
        0.02,
        0.5,
    )
    for vessel in (ascending_aorta, superior_vena_cava, pulmonary_trunk, arch):
        parts.append(Structure(vessel, Tissue.BLOOD))
    return parts


def abdomen_parts(rng: np.random.Generator, frame: TorsoFrame) -> list[Part]:
    """Liver with its veins, gallbladder, spleen, stomach, pancreas, kidneys, aorta, IVC, psoas."""
    parts: list[Part] = [
        Structure(organ(frame, 0.47, -0.38, 0.02, 0.6, 0.95, 0.115), Tissue.LIVER),
        Structure(organ(frame, 0.43, 0.1, -0.45, 0.4, 0.45, 0.06, -0.15), Tissue.LIVER),
    ]
    top, lower = frame.level(0.39), frame.level(0.45)
    ivc_x = -(0.8 * top.vertebra_r + 10.0)
    ivc_y = top.vertebra_y - top.vertebra_r - 10.0
    reach = 0.45 * lower.cavity_a
    for angle in rng.uniform(-2.6, -0.6, size=3):  # hepatic veins fanning out from the IVC
        vein = Tube(
            z=(top.z, lower.z),
            cx=(ivc_x, ivc_x + reach * np.cos(angle)),
            cy=(ivc_y, ivc_y + 0.8 * reach * np.sin(angle)),
            a=(6.0, 3.0),
            b=(6.0, 3.0),
        )
        parts.append(Structure(vein, Tissue.BLOOD))
    if rng.random() < 0.6:
        gallbladder = _at_level(
            frame,
            0.54,
            lambda lv: (-0.3 * lv.cavity_a, lv.cavity_mid - 0.45 * lv.cavity_half_depth, 15, 20),
            0.045,
        )
        parts.append(walled(gallbladder, 1.5, Tissue.BOWEL, Tissue.GALLBLADDER))
    parts.append(Structure(organ(frame, 0.44, 0.64, 0.45, 0.2, 0.42, 0.055, -0.6), Tissue.SPLEEN))
    stomach = organ(frame, 0.44, 0.33, -0.35, 0.3, 0.45, 0.065, 0.3)
    parts.append(walled(stomach, 4.0, Tissue.BOWEL, Tissue.BOWEL_FLUID))
    parts.append(
        Structure(GasCap(stomach.scaled(0.85), stomach.cy - 0.55 * stomach.b), Tissue.BOWEL_GAS)
    )
    pancreas = _at_level(
        frame,
        0.515,
        lambda lv: (
            0.12 * lv.cavity_a,
            lv.vertebra_y - lv.vertebra_r - 28.0,
            0.38 * lv.cavity_a,
            11,
        ),
        0.03,
        0.3,  # the tail runs back towards the splenic hilum
    )
    parts.append(Structure(pancreas, Tissue.PANCREAS))
    for sign, u in ((-1.0, 0.585), (1.0, 0.565)):
        kidney = _at_level(
            frame,
            u,
            lambda lv, s=sign: (s * (lv.vertebra_r + 40.0), lv.vertebra_y + 8.0, 30.0, 21.0),
            0.085,
            -sign * 0.8,
        )
        hilum = replace(
            kidney, cx=kidney.cx - sign * 12.0, cy=kidney.cy - 6.0, a=10.0, b=7.0, c=0.35 * kidney.c
        )
        cortex, medulla = Tissue.KIDNEY_CORTEX, Tissue.KIDNEY_MEDULLA
        parts.append(
            Layered(
                (
                    Structure(kidney, cortex),
                    Structure(kidney.scaled(0.68), medulla),
                    Structure(hilum, Tissue.VISCERAL_FAT),
                )
            )
        )
    aorta = frame.tube(
        (0.12, 0.36, 0.46, 0.7),
        lambda lv: (
            _ramp(lv, 0.36, 0.46, 0.8 * lv.vertebra_r + 6.0, 8.0),
            lv.vertebra_y - _ramp(lv, 0.36, 0.46, 0.4 * lv.vertebra_r, lv.vertebra_r + 12.0),
            _ramp(lv, 0.12, 0.7, 13.0, 9.0),
            _ramp(lv, 0.12, 0.7, 13.0, 9.0),
        ),
    )
    ivc = frame.tube(
        (0.39, 0.71),
        lambda lv: (-(0.8 * lv.vertebra_r + 10.0), lv.vertebra_y - lv.vertebra_r - 10.0, 13, 10),
    )
    portal = Tube(
        z=(0.47 * frame.length_mm, 0.5 * frame.length_mm),
        cx=(-0.3 * top.cavity_a, 0.0),
        cy=(top.cavity_mid, top.vertebra_y - top.vertebra_r - 24.0),
        a=(7.0, 8.0),
        b=(7.0, 8.0),
    )
    parts += [
        Structure(aorta, Tissue.BLOOD),
        Structure(ivc, Tissue.BLOOD),
        Structure(portal, Tissue.BLOOD),
    ]
    for sign in (-1.0, 1.0):
        iliac = frame.tube(
            (0.7, 0.8, 0.92),
            lambda lv, s=sign: (
                s * _ramp(lv, 0.7, 0.92, 10.0, 0.45 * lv.cavity_a),
                lv.vertebra_y - _ramp(lv, 0.7, 0.92, lv.vertebra_r + 12.0, 5.0),
                7.0,
                7.0,
            ),
        )
        psoas = frame.tube(
            (0.5, 0.62, 0.74, 0.86),
            lambda lv, s=sign: (
                s * (lv.vertebra_r + _ramp(lv, 0.5, 0.86, 10.0, 30.0)),
                lv.vertebra_y - _ramp(lv, 0.5, 0.86, 0.0, 12.0),
                _ramp(lv, 0.5, 0.86, 8.0, 22.0),
                _ramp(lv, 0.5, 0.86, 9.0, 18.0),
            ),
        )
        parts += [Structure(iliac, Tissue.BLOOD), Structure(psoas, Tissue.MUSCLE)]
    return parts


def pelvis_parts(rng: np.random.Generator, frame: TorsoFrame, gender: str) -> list[Part]:
    """Bladder, prostate or uterus, rectum and gluteal muscles."""
    male = gender == 'M'
    bladder = organ(frame, 0.92, 0.0, -0.35, 0.28, 0.4, 0.055)
    pelvic_organ = _at_level(
        frame,
        0.94 if male else 0.88,
        lambda lv: (0.0, lv.cavity_mid + 0.2 * lv.cavity_half_depth, 24.0 if male else 35.0, 20.0),
        0.035 if male else 0.06,
    )
    rectum = frame.tube((0.8, 0.9, 1.0), lambda lv: (0.0, lv.vertebra_y - 5.0, 16.0, 14.0))
    content = Tissue.BOWEL_GAS if rng.random() < 0.5 else Tissue.BOWEL_FLUID
    parts: list[Part] = [
        walled(bladder, 3.0, Tissue.BOWEL, Tissue.BLADDER),
        Structure(pelvic_organ, Tissue.PELVIC_ORGAN),
        walled(rectum, 3.0, Tissue.BOWEL, content),
    ]
    for sign in (-1.0, 1.0):
        gluteus = frame.tube(
            (0.72, 0.85, 1.0),
            lambda lv, s=sign: (
                s * 0.62 * lv.cavity_a,
                lv.cavity_back + 4.0,
                0.33 * lv.cavity_a,
                _ramp(lv, 0.72, 1.0, 14.0, 30.0),
            ),
        )
        parts.append(Structure(gluteus, Tissue.MUSCLE, within=INSIDE_BODY))
    return parts
