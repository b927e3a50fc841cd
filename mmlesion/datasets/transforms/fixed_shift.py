"""A view of a slice moved by a fixed number of pixels: test-time augmentation's shifts."""

from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS


def shift_array(image: np.ndarray, shift_x: int, shift_y: int) -> np.ndarray:
    """``image`` ``(H, W, ...)`` with its content moved right by ``shift_x`` and down by
    ``shift_y`` pixels; the rows and columns that come in copy the edge (replicate padding),
    the ones that leave are dropped. Same shape and dtype; the input itself when both are 0."""
    if shift_x == 0 and shift_y == 0:
        return image
    height, width = image.shape[:2]
    rows = np.clip(np.arange(height) - shift_y, 0, height - 1)
    cols = np.clip(np.arange(width) - shift_x, 0, width - 1)
    return image[rows[:, None], cols[None, :]]


@TRANSFORMS.register_module()
class FixedShift(BaseTransform):
    """Move the image's content by ``(shift_x, shift_y)`` pixels, keeping its frame.

    The views of a test-time augmentation (``TestTimeAug``) that
    :class:`~mmlesion.models.ShiftFlipTTAModel` merges: it reads the recorded ``shift_px`` to move
    each view's predicted boxes back. CT slices are framed by air, so the replicated edge is air
    too. Put it after ``RandomFlip`` in a ``tta_pipeline``: the shift is undone first, then the
    flip.

    Required Keys: ``img`` (``(H, W, C)``), ``img_shape``.

    Modified Keys: ``img`` (same shape and dtype), ``gt_bboxes`` (moved with the content, then
    clipped to the frame), ``homography_matrix`` (if present).

    Added Keys: ``shift_px``: ``(shift_x, shift_y)``, pixels of this image (a meta key for
    ``PackDetInputs``).

    Args:
        shift_x: pixels to the right (negative: to the left).
        shift_y: pixels down (negative: up).
    """

    def __init__(self, shift_x: int = 0, shift_y: int = 0) -> None:
        if int(shift_x) != shift_x or int(shift_y) != shift_y:
            raise ValueError(f'shift_x and shift_y must be whole pixels, got {shift_x}, {shift_y}')
        self.shift_x = int(shift_x)
        self.shift_y = int(shift_y)

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        if abs(self.shift_x) >= width or abs(self.shift_y) >= height:
            raise ValueError(
                f'FixedShift({self.shift_x}, {self.shift_y}) moves the whole '
                f'{height}x{width} image out of its frame'
            )
        results['img'] = shift_array(results['img'], self.shift_x, self.shift_y)
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].translate_([self.shift_x, self.shift_y])
            results['gt_bboxes'].clip_((height, width))
        if results.get('homography_matrix') is not None:
            shift = np.array(
                [[1, 0, self.shift_x], [0, 1, self.shift_y], [0, 0, 1]], dtype=np.float32
            )
            results['homography_matrix'] = shift @ results['homography_matrix']
        results['shift_px'] = (self.shift_x, self.shift_y)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(shift_x={self.shift_x}, shift_y={self.shift_y})'
