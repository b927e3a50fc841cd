"""Boxes on a slice: ground truth, ignore regions and detections, for dataset browsing and test
visualisation (``tools/analysis_tools/browse_dataset.py``, ``tools/test.py --show-dir``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

#: BGR colours: ground-truth lesions green, ignore regions yellow, detections red.
GT_COLOR = (0, 255, 0)
IGNORED_COLOR = (0, 255, 255)
PRED_COLOR = (40, 40, 230)
#: Black columns between the channels of a tiled image, pixels.
TILE_GAP = 4


def box_pixels(box: Sequence[float], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The pixel indices ``(x1, y1, x2, y2)`` a box's outline is drawn through: its 0-based
    continuous coordinates rounded to the nearest pixel, clipped to an image of ``shape``
    ``(H, W)``."""
    height, width = shape
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    return (
        min(max(x1, 0), width - 1),
        min(max(y1, 0), height - 1),
        min(max(x2, 0), width - 1),
        min(max(y2, 0), height - 1),
    )


def draw_boxes(
    image: np.ndarray,
    boxes: np.ndarray,
    color: tuple[int, int, int],
    scores: np.ndarray | None = None,
) -> np.ndarray:
    """Outline ``boxes`` on ``image`` (in place), one pixel wide.

    Args:
        image: ``(H, W, 3)`` uint8 BGR image.
        boxes: ``(K, 4)`` boxes ``(x1, y1, x2, y2)``, 0-based pixels of ``image``
            (:func:`box_pixels` says which pixels are drawn).
        color: BGR colour.
        scores: ``(K,)`` scores written above each box, or None.

    Returns:
        ``image``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    for k, box in enumerate(boxes):
        x1, y1, x2, y2 = box_pixels(box, image.shape[:2])
        cv2.rectangle(image, (x1, y1), (x2, y2), color, 1)
        if scores is not None:
            cv2.putText(
                image,
                f'{float(scores[k]):.2f}',
                (x1, max(y1 - 2, 8)),
                cv2.FONT_HERSHEY_PLAIN,
                0.7,
                color,
            )
    return image


def tile_channels(image: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """The channels of an image side by side as one gray BGR picture.

    Args:
        image: ``(C, H, W)`` uint8 (e.g. one HU window or one neighbouring slice a channel).

    Returns:
        ``(H, C * W + (C - 1) * TILE_GAP, 3)`` uint8 BGR image, and the x offset of each
        channel's tile in it.
    """
    channels, height, width = image.shape
    offsets = [c * (width + TILE_GAP) for c in range(channels)]
    canvas = np.zeros((height, offsets[-1] + width, 3), np.uint8)
    for channel, x in zip(image, offsets, strict=True):
        canvas[:, x : x + width] = channel[..., None]
    return canvas, offsets


def draw_on_channels(
    image: np.ndarray,
    gt_boxes: np.ndarray,
    ignored_boxes: np.ndarray | None = None,
    pred_boxes: np.ndarray | None = None,
    pred_scores: np.ndarray | None = None,
) -> np.ndarray:
    """Each channel of ``image`` side by side, every box drawn on each.

    Args:
        image: ``(C, H, W)`` uint8.
        gt_boxes: ``(M, 4)`` lesion boxes, 0-based pixels of ``image``; green.
        ignored_boxes: ``(K, 4)`` ignore regions; yellow.
        pred_boxes: ``(N, 4)`` detections; red, with ``pred_scores`` ``(N,)`` above them.

    Returns:
        The ``(H, W', 3)`` uint8 BGR picture of :func:`tile_channels`.
    """
    canvas, offsets = tile_channels(image)
    width = image.shape[2]
    layers = [(gt_boxes, GT_COLOR, None)]
    if ignored_boxes is not None:
        layers.append((ignored_boxes, IGNORED_COLOR, None))
    if pred_boxes is not None:
        layers.append((pred_boxes, PRED_COLOR, pred_scores))
    for x in offsets:
        tile = canvas[:, x : x + width].copy()
        for boxes, color, scores in layers:
            draw_boxes(tile, boxes, color, scores)
        canvas[:, x : x + width] = tile
    return canvas


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write ``image`` as a PNG, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f'cannot write {path}')
    return path
