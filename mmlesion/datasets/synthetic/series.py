"""Rendering a planned series slice by slice: phantom, lesions, texture, lungs, acquisition."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from .acquisition import degrade, shading_field
from .anatomy import Anatomy, paint_anatomy
from .planning import SeriesPlan
from .raster import Canvas
from .texture import TextureField, sample_texture
from .tissues import OUTSIDE_BODY, Tissue, texture_lut

_TEXTURE_LUT = texture_lut()
_BODY_LUT = np.array(
    [t not in OUTSIDE_BODY for t in Tissue] + [True] * (256 - len(Tissue)), np.float32
)


@dataclass(frozen=True)
class RenderedSlice:
    """One acquired slice: ``hu (N, N) float32`` and the phantom's ``labels (N, N) uint8``."""

    slice_index: int
    hu: np.ndarray
    labels: np.ndarray


def render_clean_slice(
    plan: SeriesPlan, anatomy: Anatomy, slice_index: int, texture: TextureField | None = None
) -> Canvas:
    """The noise-free slice ``slice_index`` of ``plan``: anatomy, lesions, texture, lungs."""
    grid, phase = plan.grid, plan.profile.phase
    z = plan.z_of(slice_index)
    canvas = Canvas(grid)
    paint_anatomy(canvas, anatomy, z, phase)
    for imaged in plan.lesions:
        ellipse = imaged.ellipsoid.section(z)
        if ellipse is None:
            continue
        edge_mm = imaged.lesion.edge_mm
        if imaged.rim_hu is None:
            canvas.paint(ellipse, imaged.value_hu, Tissue.LESION, edge_mm)
        else:
            canvas.paint(ellipse, imaged.rim_hu, Tissue.LESION, edge_mm)
            core = ellipse.scaled(imaged.core_fraction)
            canvas.paint(core, imaged.value_hu, Tissue.LESION, edge_mm)
    labels, hu = canvas.labels, canvas.hu
    if texture is not None:
        hu += _TEXTURE_LUT[labels] * texture.at(z)
    lung = labels == Tissue.LUNG
    if lung.any():
        hu += lung * (np.float32(anatomy.lung_gradient_hu_per_mm) * grid.y_mm())
        vessels = anatomy.vessels.draw(grid, z, plan.slice_interval_mm)
        blood = np.float32(anatomy.hu(Tissue.BLOOD, phase))
        hu += (lung * vessels) * (blood - hu)
    return canvas


def render_series(
    plan: SeriesPlan, anatomy: Anatomy, rng: np.random.Generator
) -> Iterator[RenderedSlice]:
    """Every stored slice of ``plan`` in index order, as acquired under its profile."""
    grid, profile = plan.grid, plan.profile
    n = grid.size_px
    texture = sample_texture(rng, n, grid.spacing_mm)
    shading = None
    if profile.shading_amplitude_hu > 0:
        level = anatomy.frame.level(plan.key_slices[0].z_mm / anatomy.length_mm)
        centre = grid.to_px(0.0, 0.5 * (level.body_back - level.body_b))
        axes = (
            level.body_a / grid.spacing_mm,
            0.5 * (level.body_back + level.body_b) / grid.spacing_mm,
        )
        shading = shading_field(rng, n, grid.spacing_mm, centre, axes, profile.shading_amplitude_hu)
    first, last = plan.slice_range
    for index in range(first, last + 1):
        canvas = render_clean_slice(plan, anatomy, index, texture)
        body = cv2.GaussianBlur(_BODY_LUT[canvas.labels], (0, 0), 1.0)
        yield RenderedSlice(index, degrade(canvas.hu, body, profile, shading, rng), canvas.labels)
