"""Resampling a slice to a fixed pixel spacing in mm."""

from __future__ import annotations

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RescaleToSpacing(BaseTransform):
    """Resample the image so one pixel spans ``target_spacing_mm`` (DeepLesion detectors
    normalise to about 0.8 mm), scaling the boxes with it.

    The scale composes with any earlier ``scale_factor`` so that predictions map back to the
    original pixels. mmdet's ``Resize`` *overwrites* ``scale_factor``: put this transform after
    it, never before.

    ``spacing_mm`` keeps describing the original pixels (where ground truth and rescaled
    predictions live, and what the metric measures lesion sizes with); the resampled image's
    spacing goes to ``img_spacing_mm``.

    Required Keys: ``img`` (``(H, W, C)``), ``spacing_mm`` (x, y, z mm).

    Modified Keys: ``img``, ``img_shape``, ``gt_bboxes`` (if present), ``scale_factor``.

    Added Keys: ``img_spacing_mm`` (x, y, z mm), ``scale_factor`` (w, h), ``keep_ratio``.

    Args:
        target_spacing_mm: pixel spacing after resampling, mm.
        max_size: optional cap on the longer side in pixels (the scale is reduced to fit).
        interpolation: mmcv interpolation name.
    """

    def __init__(
        self,
        target_spacing_mm: float = 0.8,
        max_size: int | None = None,
        interpolation: str = 'bilinear',
    ) -> None:
        if target_spacing_mm <= 0:
            raise ValueError(f'target_spacing_mm must be positive, got {target_spacing_mm}')
        self.target_spacing_mm = target_spacing_mm
        self.max_size = max_size
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        img = results['img']
        height, width = img.shape[:2]
        # The current image may already be scaled (scale_factor): its spacing is the original
        # spacing divided by that scale.
        previous = results.get('scale_factor', (1.0, 1.0))
        spacing_x, spacing_y, *spacing_z = results['spacing_mm']
        scale_x = spacing_x / previous[0] / self.target_spacing_mm
        scale_y = spacing_y / previous[1] / self.target_spacing_mm
        if self.max_size is not None:
            fit = self.max_size / max(width * scale_x, height * scale_y)
            scale_x, scale_y = scale_x * min(1.0, fit), scale_y * min(1.0, fit)
        new_size = (max(1, round(width * scale_x)), max(1, round(height * scale_y)))
        resized = mmcv.imresize(img, new_size, interpolation=self.interpolation)
        if img.ndim == 3 and resized.ndim == 2:
            resized = resized[..., None]
        w_scale, h_scale = new_size[0] / width, new_size[1] / height
        total = (previous[0] * w_scale, previous[1] * h_scale)

        results['img'] = resized
        results['img_shape'] = resized.shape[:2]
        results['img_spacing_mm'] = (spacing_x / total[0], spacing_y / total[1], *spacing_z)
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].rescale_([w_scale, h_scale])
            results['gt_bboxes'].clip_(results['img_shape'])
        results['scale_factor'] = total
        results['keep_ratio'] = True
        if results.get('homography_matrix') is not None:
            scaling = np.diag([w_scale, h_scale, 1.0]).astype(np.float32)
            results['homography_matrix'] = scaling @ results['homography_matrix']
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(target_spacing_mm={self.target_spacing_mm}, '
            f'max_size={self.max_size}, interpolation={self.interpolation!r})'
        )
