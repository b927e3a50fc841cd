"""Smooth random fields: organ texture and, in :mod:`.acquisition`, shading and noise colour."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


def smooth_noise(
    rng: np.random.Generator, size_px: int, spacing_mm: float, correlation_mm: float
) -> np.ndarray:
    """Zero-mean, unit-std noise smooth over about ``correlation_mm``.

    Returns:
        ``(size_px, size_px) float32``.
    """
    cells = max(2, math.ceil(size_px * spacing_mm / correlation_mm))
    coarse = rng.standard_normal((cells, cells)).astype(np.float32)
    field = cv2.resize(coarse, (size_px, size_px), interpolation=cv2.INTER_CUBIC)
    field -= field.mean()
    field *= np.float32(1.0 / max(float(field.std()), 1e-6))
    return field


@dataclass(frozen=True)
class TextureField:
    """Unit-std texture varying smoothly with z: ``cos(w z) * even + sin(w z) * odd``.

    Mixing two independent fields keeps the standard deviation at every z while neighbouring
    slices stay correlated over ``period_mm / 4``.
    """

    even: np.ndarray
    odd: np.ndarray
    period_mm: float

    def at(self, z_mm: float) -> np.ndarray:
        """The texture at ``z_mm``, ``(N, N) float32``."""
        w = 2.0 * math.pi * z_mm / self.period_mm
        return self.even * np.float32(math.cos(w)) + self.odd * np.float32(math.sin(w))


def sample_texture(rng: np.random.Generator, size_px: int, spacing_mm: float) -> TextureField:
    """Organ texture with a fine (about 2 mm) and a coarse (about 8 mm) component."""

    def field() -> np.ndarray:
        fine = smooth_noise(rng, size_px, spacing_mm, 2.5)
        coarse = smooth_noise(rng, size_px, spacing_mm, 9.0)
        return (0.75 * fine + 0.66 * coarse).astype(np.float32)

    return TextureField(even=field(), odd=field(), period_mm=rng.uniform(30.0, 50.0))
