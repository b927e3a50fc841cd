"""Enhancement as augmentation: training a detector that can read GLCAE-enhanced slices."""

from __future__ import annotations

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from mmlesion.enhancement import glcae


@TRANSFORMS.register_module()
class RandomGLCAE(BaseTransform):
    """With probability ``prob``, enhance the image with GLCAE at random (clip, grid).

    GLCAE changes an image's whole intensity distribution (its global branch equalises the
    histogram, so air and fat brighten). A detector that has only seen windowed slices meets
    enhanced ones as a domain shift and loses more to it than enhancement can give back. Trained
    with this augmentation, the detector reads both, and the frozen-detector comparison of
    no / fixed / learned enhancement measures the enhancement, not the shift. Parameters are
    drawn uniformly from the regressor's ranges; put this transform right after ``HUWindow`` and
    before any crop, so that the enhancement sees the whole slice as it does at test time.

    Required Keys: ``img`` (float ``(H, W, C)`` in [0, ``intensity_max``]).

    Modified Keys: ``img`` (same shape and range).

    Added Keys: ``clahe_clip_limit``, ``clahe_grid_size`` (``None`` when left as it is).

    Args:
        prob: probability of enhancing an image.
        clip_range: ``(low, high)`` of the clip limit (OpenCV convention).
        grid_range: ``(low, high)`` of the grid size (tiles per side; fractional values blend).
        intensity_max: the image's white level (255 after ``HUWindow``).
    """

    def __init__(
        self,
        prob: float = 0.5,
        clip_range: tuple[float, float] = (1.0, 8.0),
        grid_range: tuple[float, float] = (2.0, 16.0),
        intensity_max: float = 255.0,
    ) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        for name, (low, high) in (('clip_range', clip_range), ('grid_range', grid_range)):
            if not 0 < low <= high:
                raise ValueError(f'{name} must satisfy 0 < low <= high, got ({low}, {high})')
        self.prob = prob
        self.clip_range = (float(clip_range[0]), float(clip_range[1]))
        self.grid_range = (float(grid_range[0]), float(grid_range[1]))
        self.intensity_max = float(intensity_max)

    def transform(self, results: dict) -> dict:
        # numpy's global state, which mmengine seeds (as mmdet's own transforms use).
        rng = np.random.default_rng(np.random.randint(2**31))  # noqa: NPY002
        results['clahe_clip_limit'] = results['clahe_grid_size'] = None
        if rng.random() >= self.prob:
            return results
        clip = float(rng.uniform(*self.clip_range))
        grid = float(rng.uniform(*self.grid_range))
        image = results['img']
        x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
        x = (x.permute(2, 0, 1)[None] / self.intensity_max).clamp_(0, 1)
        with torch.no_grad():
            enhanced = glcae(x, clip, grid)[0].permute(1, 2, 0) * self.intensity_max
        results['img'] = enhanced.numpy().astype(image.dtype, copy=False)
        results['clahe_clip_limit'], results['clahe_grid_size'] = clip, grid
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(prob={self.prob}, clip_range={self.clip_range}, '
            f'grid_range={self.grid_range})'
        )
