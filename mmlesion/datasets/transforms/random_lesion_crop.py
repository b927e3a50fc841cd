"""Training on patches: a fixed-size window around a randomly chosen lesion."""

from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomLesionCrop(BaseTransform):
    """Crop a ``crop_size`` window that holds a randomly chosen lesion, at a random offset.

    A key slice holds one or two lesions among thousands of background pixels: patches around
    lesions give a detector trained from scratch more lesions per second of compute, and the
    detector, fully convolutional, still runs on the whole slice at test time (as patch-based
    medical detectors such as nnDetection do). With probability ``1 - lesion_prob`` the window
    is placed uniformly instead, so that the background far from lesions is seen as well.

    A lesion the window cuts so that less than ``min_visible`` of its box remains is dropped
    from the targets (a half lesion is neither a clean positive nor a negative); the boxes kept
    are clipped to the window. An image not larger than the window is left as it is.

    Required Keys: ``img`` (``(H, W, C)``), ``img_shape``, ``gt_bboxes``,
    ``gt_bboxes_labels``, ``gt_ignore_flags``.

    Modified Keys: ``img``, ``img_shape``, ``gt_bboxes``, ``gt_bboxes_labels``,
    ``gt_ignore_flags``, ``homography_matrix`` (if present).

    Args:
        crop_size: ``(height, width)`` of the window, pixels.
        lesion_prob: probability of placing the window around a lesion.
        min_visible: smallest share of a box's area inside the window for it to stay a target.
    """

    def __init__(
        self,
        crop_size: tuple[int, int] = (128, 128),
        lesion_prob: float = 0.8,
        min_visible: float = 0.6,
    ) -> None:
        if min(crop_size) < 1:
            raise ValueError(f'crop_size must be positive pixels, got {crop_size}')
        if not 0.0 <= lesion_prob <= 1.0 or not 0.0 < min_visible <= 1.0:
            raise ValueError(
                f'lesion_prob must be in [0, 1] and min_visible in (0, 1], got {lesion_prob} '
                f'and {min_visible}'
            )
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.lesion_prob = lesion_prob
        self.min_visible = min_visible

    @staticmethod
    def _window_around(
        rng: np.random.Generator, box: np.ndarray, crop_h: int, crop_w: int, height: int, width: int
    ) -> tuple[int, int]:
        """Origin ``(x0, y0)`` of a window holding ``box`` at a random offset; a box larger than
        the window is centred."""
        x1, y1, x2, y2 = box
        origin = []
        for low, high, crop, size in ((x1, x2, crop_w, width), (y1, y2, crop_h, height)):
            first, last = max(0.0, high - crop), min(low, size - crop)
            start = rng.uniform(first, last) if first <= last else (low + high - crop) / 2
            origin.append(int(np.clip(round(start), 0, size - crop)))
        return origin[0], origin[1]

    def _window_origin(self, results: dict, crop_h: int, crop_w: int) -> tuple[int, int]:
        """Top-left corner ``(x0, y0)`` of a ``crop_h x crop_w`` window, pixels."""
        # Drawn from numpy's global state, which mmengine seeds (as mmdet's own transforms do).
        rng = np.random.default_rng(np.random.randint(2**31))  # noqa: NPY002
        height, width = results['img'].shape[:2]
        boxes = results['gt_bboxes'].numpy()
        lesions = np.flatnonzero(~np.asarray(results['gt_ignore_flags'], dtype=bool))
        if len(lesions) and rng.random() < self.lesion_prob:
            box = boxes[rng.choice(lesions)]
            return self._window_around(rng, box, crop_h, crop_w, height, width)
        return int(rng.integers(0, width - crop_w + 1)), int(rng.integers(0, height - crop_h + 1))

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        if height <= self.crop_size[0] and width <= self.crop_size[1]:
            return results
        crop_h, crop_w = min(self.crop_size[0], height), min(self.crop_size[1], width)
        x0, y0 = self._window_origin(results, crop_h, crop_w)
        results['img'] = results['img'][y0 : y0 + crop_h, x0 : x0 + crop_w]
        results['img_shape'] = results['img'].shape[:2]

        boxes = results['gt_bboxes']
        areas = boxes.areas.numpy()
        boxes.translate_([-x0, -y0])
        boxes.clip_((crop_h, crop_w))
        visible = boxes.areas.numpy() / np.maximum(areas, 1e-6)
        keep = visible >= self.min_visible
        results['gt_bboxes'] = boxes[keep]
        results['gt_bboxes_labels'] = results['gt_bboxes_labels'][keep]
        results['gt_ignore_flags'] = results['gt_ignore_flags'][keep]
        if results.get('homography_matrix') is not None:
            shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float32)
            results['homography_matrix'] = shift @ results['homography_matrix']
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(crop_size={self.crop_size}, '
            f'lesion_prob={self.lesion_prob}, min_visible={self.min_visible})'
        )
