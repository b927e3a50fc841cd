"""The torso frame: body outline, wall layers and spine position as smooth functions of z.

Every organ of the phantom is placed relative to this frame, so one patient's organs scale with
their body habitus. ``u = z / length_mm`` is the relative position along the torso: ``0`` at the
lung apices, about ``0.4`` at the diaphragm, ``0.7`` at the iliac crests and ``1`` at the pelvic
floor. It is also what ``Normalized_lesion_location`` reports as z.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .shapes import Tube

#: Relative torso positions at which the frame is tabulated.
FRAME_U: tuple[float, ...] = (0.0, 0.06, 0.15, 0.28, 0.40, 0.52, 0.64, 0.76, 0.88, 1.0)
_WIDTH = (0.78, 0.90, 1.00, 1.00, 0.97, 0.95, 0.95, 1.00, 1.04, 1.00)
_DEPTH = (0.72, 0.84, 0.92, 0.96, 0.97, 0.97, 0.95, 0.93, 0.92, 0.86)
_FAT = (0.55, 0.65, 0.75, 0.85, 0.95, 1.00, 1.00, 1.00, 0.95, 0.85)
_MUSCLE_MM = (9.0, 13.0, 14.0, 12.0, 10.0, 9.0, 9.0, 11.0, 13.0, 12.0)
_VERTEBRA_MM = (12.0, 13.0, 14.5, 16.0, 18.0, 20.5, 22.5, 24.0, 24.0, 24.0)


@dataclass(frozen=True)
class Level:
    """The frame at one z: all lengths in mm, ``y`` positive towards the back."""

    u: float
    z: float
    #: Body semi-axes and the flat back (skin on the table) y.
    body_a: float
    body_b: float
    body_back: float
    fat: float
    muscle: float
    #: Inner (cavity) semi-axes and the y of its flat posterior wall.
    cavity_a: float
    cavity_b: float
    cavity_back: float
    #: Vertebral body radius and centre y, spinal canal centre y.
    vertebra_r: float
    vertebra_y: float
    canal_y: float

    @property
    def cavity_front(self) -> float:
        return -self.cavity_b

    @property
    def cavity_mid(self) -> float:
        """y halfway between the anterior and posterior cavity walls."""
        return 0.5 * (self.cavity_back - self.cavity_b)

    @property
    def cavity_half_depth(self) -> float:
        return 0.5 * (self.cavity_back + self.cavity_b)


@dataclass(frozen=True)
class TorsoFrame:
    """One patient's torso, tabulated at :data:`FRAME_U` and interpolated linearly."""

    length_mm: float
    levels: tuple[Level, ...]

    def level(self, u: float) -> Level:
        """The frame at relative position ``u`` (clipped to ``[0, 1]``)."""
        u = float(np.clip(u, 0.0, 1.0))
        us = [lv.u for lv in self.levels]
        values = {
            name: float(np.interp(u, us, [getattr(lv, name) for lv in self.levels]))
            for name in Level.__dataclass_fields__
            if name not in ('u', 'z')
        }
        return Level(u=u, z=u * self.length_mm, **values)

    def tube(
        self,
        us: tuple[float, ...],
        section: Callable[[Level], tuple[float, ...]],
    ) -> Tube:
        """A tube through the levels ``us``; ``section(level)`` gives ``(cx, cy, a, b[, theta])``.

        A fifth value sets the angle, a sixth the flat-back ``y_max``.
        """
        rows = [section(self.level(u)) for u in us]
        columns = list(zip(*rows, strict=True))
        return Tube(
            z=tuple(u * self.length_mm for u in us),
            cx=columns[0],
            cy=columns[1],
            a=columns[2],
            b=columns[3],
            theta=columns[4] if len(columns) > 4 else None,
            y_max=columns[5] if len(columns) > 5 else None,
        )


def sample_frame(rng: np.random.Generator, gender: str) -> TorsoFrame:
    """A random adult torso: length 560-700 mm, half width 135-175 mm, fat 5-40 mm."""
    male = gender == 'M'
    length = rng.uniform(600.0, 700.0) if male else rng.uniform(560.0, 660.0)
    half_width = rng.uniform(140.0, 175.0) if male else rng.uniform(130.0, 165.0)
    depth_ratio = rng.uniform(0.62, 0.78)
    fat = float(np.exp(rng.uniform(np.log(5.0), np.log(40.0))))
    belly = 1.0 + 0.25 * (fat - 5.0) / 35.0 * rng.uniform(0.5, 1.0)
    levels = []
    for i, u in enumerate(FRAME_U):
        abdominal = float(np.clip((u - 0.4) / 0.2, 0.0, 1.0))
        body_a = half_width * _WIDTH[i]
        body_b = half_width * depth_ratio * _DEPTH[i] * (1.0 + (belly - 1.0) * abdominal)
        body_back = 0.9 * body_b
        layer_fat = fat * _FAT[i]
        muscle = _MUSCLE_MM[i] * rng.uniform(0.9, 1.15)
        cavity_a = body_a - 2.0 - layer_fat - muscle
        cavity_b = body_b - 2.0 - layer_fat - muscle
        cavity_back = body_back - 2.0 - 0.5 * layer_fat - muscle
        vertebra_r = _VERTEBRA_MM[i] * half_width / 155.0
        spinous_tip = body_back - 2.0 - 0.5 * layer_fat - 4.0
        canal_y = spinous_tip - 28.0 - 0.3 * vertebra_r
        vertebra_y = canal_y - 0.4 * vertebra_r - 4.0 - vertebra_r
        levels.append(
            Level(
                u=u,
                z=u * length,
                body_a=body_a,
                body_b=body_b,
                body_back=body_back,
                fat=layer_fat,
                muscle=muscle,
                cavity_a=cavity_a,
                cavity_b=cavity_b,
                cavity_back=cavity_back,
                vertebra_r=vertebra_r,
                vertebra_y=vertebra_y,
                canal_y=canal_y,
            )
        )
    return TorsoFrame(length_mm=length, levels=tuple(levels))
