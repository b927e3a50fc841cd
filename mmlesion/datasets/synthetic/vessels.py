"""Pulmonary vessel trees: the dots and short branches that make lung parenchyma look like lung.

Each lung holds a random binary tree of 3-D segments growing from the hilum. A slice shows the
part of every segment that crosses its slab, drawn as a line as thick as the vessel, so a vessel
along z appears as a dot, an in-plane one as a branch, and neighbour slices agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .frame import TorsoFrame
from .raster import SliceGrid


@dataclass(frozen=True)
class VesselTree:
    """Vessel segments, patient mm: ``start``, ``end`` ``(M, 3)`` (x, y, z); ``radius`` ``(M,)``."""

    start: np.ndarray
    end: np.ndarray
    radius: np.ndarray

    def draw(self, grid: SliceGrid, z_mm: float, slab_mm: float) -> np.ndarray:
        """Vessel opacity on ``grid`` for the slab ``z_mm +- slab_mm / 2``.

        Returns:
            ``(N, N) float32`` in ``[0, 1]``: the fraction of each pixel's voxel filled by vessel.
        """
        n = grid.size_px
        canvas = np.zeros((n, n), np.uint8)
        half = 0.5 * max(slab_mm, grid.spacing_mm)
        z0, z1 = self.start[:, 2], self.end[:, 2]
        hit = (np.minimum(z0, z1) <= z_mm + half) & (np.maximum(z0, z1) >= z_mm - half)
        if not hit.any():
            return canvas.astype(np.float32)
        p, q, r = self.start[hit], self.end[hit], self.radius[hit]
        dz = q[:, 2] - p[:, 2]
        flat = np.abs(dz) < 1e-6
        safe = np.where(flat, 1.0, dz)
        ta = np.where(flat, 0.0, (z_mm - half - p[:, 2]) / safe)
        tb = np.where(flat, 1.0, (z_mm + half - p[:, 2]) / safe)
        t0 = np.clip(np.minimum(ta, tb), 0.0, 1.0)
        t1 = np.clip(np.maximum(ta, tb), 0.0, 1.0)
        a = p + t0[:, None] * (q - p)
        b = p + t1[:, None] * (q - p)
        # Partial volume: thin vessels fill part of a pixel, in-plane ones part of the slab.
        in_slab = np.abs(b[:, 2] - a[:, 2]) + 2.0 * r
        fill = np.minimum(1.0, 2.0 * r / grid.spacing_mm) * np.minimum(1.0, in_slab / (2 * half))
        scale = 16.0 / grid.spacing_mm
        c = (n - 1) / 2.0
        ax = np.round((c + (a[:, 0] - grid.center_mm[0]) / grid.spacing_mm) * 16).astype(int)
        ay = np.round((c + (a[:, 1] - grid.center_mm[1]) / grid.spacing_mm) * 16).astype(int)
        bx = ax + np.round((b[:, 0] - a[:, 0]) * scale).astype(int)
        by = ay + np.round((b[:, 1] - a[:, 1]) * scale).astype(int)
        thickness = np.maximum(1, np.round(2.0 * r / grid.spacing_mm)).astype(int)
        value = np.round(255 * fill).astype(int)
        for i in np.argsort(-r, kind='stable'):
            cv2.line(
                canvas,
                (ax[i], ay[i]),
                (bx[i], by[i]),
                int(value[i]),
                int(thickness[i]),
                cv2.LINE_AA,
                4,
            )
        return canvas.astype(np.float32) * np.float32(1.0 / 255.0)


def sample_vessel_tree(
    rng: np.random.Generator, frame: TorsoFrame, generations: int = 4, twigs: int = 2500
) -> VesselTree:
    """Per lung: a branching tree from the hilum plus ``twigs`` small peripheral vessels.

    The tree gives the large hilar and central vessels; the twigs, spread through the whole
    chest and pointing away from the hilum, thin out with distance so the periphery shows the
    fine dots and lines of real lung parenchyma. Segments outside the lungs are never drawn.
    """
    hilum = frame.level(0.24)
    starts, ends, radii = [], [], []
    for sign in (-1.0, 1.0):
        root = np.array(
            [sign * 0.22 * hilum.cavity_a, hilum.vertebra_y - hilum.vertebra_r - 20.0, hilum.z]
        )
        n_roots = 8
        direction = rng.normal(size=(n_roots, 3)) * np.array([0.5, 0.8, 1.2])
        direction[:, 0] = sign * (0.6 + np.abs(direction[:, 0]))
        direction[: n_roots // 2, 2] = -np.abs(direction[: n_roots // 2, 2])
        direction[n_roots // 2 :, 2] = np.abs(direction[n_roots // 2 :, 2]) + 0.4
        point = np.repeat(root[None], n_roots, axis=0)
        length = np.full(n_roots, rng.uniform(28.0, 36.0))
        radius = np.full(n_roots, rng.uniform(4.0, 5.0))
        for _ in range(generations + 1):
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
            end = point + direction * length[:, None]
            starts.append(point)
            ends.append(end)
            radii.append(radius)
            # Two children each, turning away from the hilum as the tree spreads.
            outward = end - root
            outward /= np.linalg.norm(outward, axis=1, keepdims=True) + 1e-9
            parent = np.repeat(direction, 2, axis=0)
            direction = (
                parent + 0.55 * rng.normal(size=parent.shape) + 0.35 * np.repeat(outward, 2, axis=0)
            )
            point = np.repeat(end, 2, axis=0)
            length = np.repeat(length, 2) * rng.uniform(0.75, 0.9, size=2 * len(length))
            radius = np.repeat(radius, 2) * 0.72

        u = rng.uniform(0.02, 0.48, size=twigs)
        levels = [frame.level(v) for v in np.linspace(0.02, 0.48, 24)]
        cavity_a = np.interp(u, np.linspace(0.02, 0.48, 24), [lv.cavity_a for lv in levels])
        cavity_b = np.interp(u, np.linspace(0.02, 0.48, 24), [lv.cavity_b for lv in levels])
        angle = rng.uniform(-0.5 * np.pi, 0.5 * np.pi, size=twigs)
        rho = np.sqrt(rng.uniform(0.0, 1.0, size=twigs))
        centre = np.stack(
            [
                sign * rho * np.cos(angle) * cavity_a,
                rho * np.sin(angle) * cavity_b,
                u * frame.length_mm,
            ],
            axis=1,
        )
        outward = centre - root
        distance = np.linalg.norm(outward, axis=1, keepdims=True)
        direction = outward / (distance + 1e-9) + 0.6 * rng.normal(size=centre.shape)
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        half = 0.5 * rng.uniform(6.0, 16.0, size=(twigs, 1)) * direction
        starts.append(centre - half)
        ends.append(centre + half)
        radii.append(0.35 + 2.2 * np.exp(-distance[:, 0] / 45.0) * rng.uniform(0.5, 1.0, twigs))
    return VesselTree(
        start=np.concatenate(starts), end=np.concatenate(ends), radius=np.concatenate(radii)
    )
