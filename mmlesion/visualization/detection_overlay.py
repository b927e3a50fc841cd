"""One inference result as a picture: the slice the detector saw, its boxes, the enhancement."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from mmlesion.utils.atomic_write import atomic_write_image

#: Draw small slices larger so that box labels stay legible, pixels.
MIN_DISPLAY_SIDE = 512
_TITLE_HEIGHT = 24
_BOX_COLOR = (40, 40, 230)  # BGR red


def _title(result, name: str) -> str:
    clip, grid = result.clahe_clip_limit, result.clahe_grid_size
    scale = getattr(result, 'window_width_scale', None)
    if clip is not None:
        enhancement = f'clip {clip:.2f}  grid {grid:.2f}'
    elif scale is not None:
        enhancement = (
            f'level {result.window_level_offset_hu:+.0f} HU  width x{scale:.2f}  '
            f'denoise {result.denoise_strength:.2f}'
        )
    else:
        enhancement = 'no enhancement'
    return f'{name}  {enhancement}  {len(result.detections)} lesion(s)'


def _label(detection) -> str:
    size = '' if math.isnan(detection.long_side_mm) else f' {detection.long_side_mm:.0f}mm'
    return f'{detection.label} {detection.score:.2f}{size}'


def draw_detections(result, path: str | Path, title: str | None = None) -> np.ndarray:
    """Write ``result.display`` with its detections and enhancement parameters as a PNG.

    Args:
        result: a :class:`~mmlesion.apis.lesion_inferencer.SliceResult` whose ``display`` is the
            ``(H, W)`` slice in [0, 1] and whose boxes are in the same pixels.
        path: the PNG to write.
        title: what names the slice in the picture's title; None: ``result.slice_name``.

    Returns:
        The written ``(H', W', 3)`` uint8 BGR image.
    """
    image = np.round(np.clip(result.display, 0.0, 1.0) * 255).astype(np.uint8)
    scale = max(1, math.ceil(MIN_DISPLAY_SIDE / max(image.shape)))
    if scale > 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    canvas = np.zeros((image.shape[0] + _TITLE_HEIGHT, image.shape[1], 3), np.uint8)
    canvas[_TITLE_HEIGHT:] = image[..., None]
    name = result.slice_name if title is None else title
    cv2.putText(
        canvas, _title(result, name), (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255)
    )
    for detection in result.detections:
        x1, y1, x2, y2 = (round(float(v) * scale) for v in detection.bbox_px)
        y1, y2 = y1 + _TITLE_HEIGHT, y2 + _TITLE_HEIGHT
        cv2.rectangle(canvas, (x1, y1), (x2, y2), _BOX_COLOR, 1)
        cv2.putText(
            canvas,
            _label(detection),
            (x1, max(y1 - 3, _TITLE_HEIGHT + 10)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            _BOX_COLOR,
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_image(path, canvas)
    return canvas
