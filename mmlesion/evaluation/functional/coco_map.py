"""COCO-style average precision of per-image detections, computed by pycocotools in memory.

The ground truth and the detections are handed to pycocotools' ``COCOeval`` as in-memory datasets
(no annotation file), so the numbers are pycocotools' own: AP averaged over IoU thresholds
0.50:0.05:0.95, 101 recall points, at most 100 detections per image and class. Category ids are
``label + 1``; image ids are the positions in the input lists.

Ignore regions become ``iscrowd=1`` annotations: a detection that overlaps one (intersection over
the detection's area, COCO's crowd rule) and matches no real box is neither a true nor a false
positive, and the region itself is never counted as missed.

Size ranges use COCOeval's area ranges with any size measure: by default the ``area`` of a box
is its area in px² as in COCO, but ``gt_sizes`` / ``det_sizes`` can store e.g. a lesion diameter in
mm there instead. As in COCO, ground truths outside a range are ignored for that range, and so are
detections outside it that match nothing; the bounds are inclusive at both ends.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ._inputs import (
    as_boxes,
    as_vector,
    check_num_images,
    check_per_image,
    finite_ordered_boxes,
    finite_rows,
    not_nan,
)

#: The range that keeps every box; the 'all' row of COCOeval.
ALL_SIZES: tuple[float, float] = (0.0, math.inf)


def coco_map(
    det_boxes: Sequence[ArrayLike],
    det_scores: Sequence[ArrayLike],
    det_labels: Sequence[ArrayLike],
    gt_boxes: Sequence[ArrayLike],
    gt_labels: Sequence[ArrayLike],
    gt_ignore: Sequence[ArrayLike] | None = None,
    num_classes: int | None = None,
    gt_sizes: Sequence[ArrayLike] | None = None,
    det_sizes: Sequence[ArrayLike] | None = None,
    size_ranges: Mapping[str, tuple[float, float]] | None = None,
    classwise: bool = False,
) -> dict[str, float | np.ndarray]:
    """COCO AP@[.50:.95], AP50 and AP75 of detections against ground truth, by pycocotools.

    Args:
        det_boxes: per image, ``(N_i, 4)`` detected boxes ``(x1, y1, x2, y2)``, pixels
            (numpy arrays, or torch tensors on any device).
        det_scores: per image, ``(N_i,)`` detection scores.
        det_labels: per image, ``(N_i,)`` int class labels in ``[0, num_classes)``.
        gt_boxes: per image, ``(M_i, 4)`` ground-truth boxes, pixels. ``M_i`` may be 0.
        gt_labels: per image, ``(M_i,)`` int class labels.
        gt_ignore: per image, ``(M_i,)`` bool, True where the box is an ignore region.
        num_classes: number of classes; None: one more than the largest label given.
        gt_sizes: per image, ``(M_i,)`` size of each ground-truth box in the unit of
            ``size_ranges``; None: box area in px².
        det_sizes: per image, ``(N_i,)`` size of each detected box in the same unit; None: box
            area in px².
        size_ranges: ``{name: (low, high)}``, sizes kept in each extra range (inclusive); each
            gives a key ``mAP_<name>``. None: no size breakdown.
        classwise: also return the AP of each class.

    Returns:
        ``{'mAP', 'AP50', 'AP75'}`` floats in ``[0, 1]``, plus ``mAP_<name>`` per size range and,
        with ``classwise``, ``'per_class_AP'``: ``(num_classes,)`` float64. A value is NaN where
        there is no ground truth to score (no box, or none of that class or size); pycocotools
        writes -1 there.

    Raises:
        ValueError: inputs of different lengths or shapes, a NaN or infinite box or score, a
            flipped ground-truth box (``x2 < x1`` or ``y2 < y1``), a NaN size, or a label
            outside ``[0, num_classes)`` (each named). pycocotools would score a NaN detection
            as a hit.
    """
    gt_coco, det_coco = _to_coco(
        det_boxes,
        det_scores,
        det_labels,
        gt_boxes,
        gt_labels,
        gt_ignore,
        num_classes,
        gt_sizes,
        det_sizes,
    )
    ranges = {'all': ALL_SIZES, **(size_ranges or {})}
    evaluator = COCOeval(gt_coco, det_coco, 'bbox')
    evaluator.params.areaRng = [list(bounds) for bounds in ranges.values()]
    evaluator.params.areaRngLbl = list(ranges)
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()

    # (iou thresholds, recall points, classes, size ranges, max detections), -1 where undefined;
    # the last max-detections column is COCO's 100, as in COCOeval.summarize.
    precision = evaluator.eval['precision'][..., -1]
    iou_thrs = evaluator.params.iouThrs
    result: dict[str, float | np.ndarray] = {
        'mAP': _mean_precision(precision[:, :, :, 0]),
        'AP50': _mean_precision(precision[np.isclose(iou_thrs, 0.5), :, :, 0]),
        'AP75': _mean_precision(precision[np.isclose(iou_thrs, 0.75), :, :, 0]),
    }
    for index, name in enumerate(ranges):
        if index > 0:
            result[f'mAP_{name}'] = _mean_precision(precision[:, :, :, index])
    if classwise:
        result['per_class_AP'] = np.array(
            [_mean_precision(precision[:, :, k, 0]) for k in range(precision.shape[2])]
        )
    return result


def _mean_precision(precision: np.ndarray) -> float:
    """Mean of the defined (> -1) precision entries, NaN when there is none."""
    defined = precision[precision > -1]
    return float(defined.mean()) if defined.size else math.nan


def _to_coco(
    det_boxes: Sequence[ArrayLike],
    det_scores: Sequence[ArrayLike],
    det_labels: Sequence[ArrayLike],
    gt_boxes: Sequence[ArrayLike],
    gt_labels: Sequence[ArrayLike],
    gt_ignore: Sequence[ArrayLike] | None,
    num_classes: int | None,
    gt_sizes: Sequence[ArrayLike] | None,
    det_sizes: Sequence[ArrayLike] | None,
) -> tuple[COCO, COCO]:
    """Check the inputs and build pycocotools' ground-truth and detection datasets."""
    num_images = check_num_images(
        det_boxes=det_boxes,
        det_scores=det_scores,
        det_labels=det_labels,
        gt_boxes=gt_boxes,
        gt_labels=gt_labels,
        gt_ignore=gt_ignore,
        gt_sizes=gt_sizes,
        det_sizes=det_sizes,
    )
    dets = [as_boxes(det_boxes[i], f'det_boxes[{i}]') for i in range(num_images)]
    gts = [as_boxes(gt_boxes[i], f'gt_boxes[{i}]') for i in range(num_images)]
    scores = [
        as_vector(det_scores[i], len(dets[i]), np.float64, f'det_scores[{i}]')
        for i in range(num_images)
    ]
    check_per_image(dets, 'det_boxes', finite_rows)
    check_per_image(scores, 'det_scores', finite_rows)
    check_per_image(gts, 'gt_boxes', finite_ordered_boxes)
    gt_anns = _annotations(gts, gt_labels, gt_sizes, 'gt')
    det_anns = _annotations(dets, det_labels, det_sizes, 'det')
    for i in range(num_images):
        for ann, score in zip(det_anns[i], scores[i].tolist(), strict=True):
            ann['score'] = score
        if gt_ignore is None:
            crowd = np.zeros(len(gt_anns[i]), dtype=bool)
        else:
            crowd = as_vector(gt_ignore[i], len(gt_anns[i]), bool, f'gt_ignore[{i}]')
        for ann, is_crowd in zip(gt_anns[i], crowd.tolist(), strict=True):
            ann['iscrowd'] = int(is_crowd)

    labels = [ann['category_id'] - 1 for anns in gt_anns + det_anns for ann in anns]
    if num_classes is None:
        num_classes = max(labels, default=0) + 1
    if labels and not 0 <= min(labels) <= max(labels) < num_classes:
        raise ValueError(f'labels must lie in [0, {num_classes}), got {min(labels)}..{max(labels)}')

    images = [{'id': i} for i in range(num_images)]
    categories = [{'id': label + 1} for label in range(num_classes)]
    cocos = []
    for per_image in (gt_anns, det_anns):
        # Annotation ids start at 1: COCOeval reads a match to id 0 as no match.
        anns = [ann for image_anns in per_image for ann in image_anns]
        for ann_id, ann in enumerate(anns, start=1):
            ann['id'] = ann_id
        coco = COCO()
        coco.dataset = {'images': images, 'categories': categories, 'annotations': anns}
        with contextlib.redirect_stdout(io.StringIO()):
            coco.createIndex()
        cocos.append(coco)
    return cocos[0], cocos[1]


def _annotations(
    boxes: list[np.ndarray],
    labels: Sequence[ArrayLike],
    sizes: Sequence[ArrayLike] | None,
    name: str,
) -> list[list[dict]]:
    """Per image, COCO annotation dicts (without ids, scores or crowd flags) of the checked
    ``(K_i, 4)`` boxes."""
    per_image_sizes = []
    for i, image_boxes in enumerate(boxes):
        if sizes is None:
            per_image_sizes.append(np.prod(image_boxes[:, 2:] - image_boxes[:, :2], axis=1))
        else:
            per_image_sizes.append(
                as_vector(sizes[i], len(image_boxes), np.float64, f'{name}_sizes[{i}]')
            )
    # A NaN size lies in no range and so is never ignored: it would count in every one.
    check_per_image(per_image_sizes, f'{name}_sizes', not_nan)
    per_image = []
    for i, (image_boxes, image_sizes) in enumerate(zip(boxes, per_image_sizes, strict=True)):
        image_labels = as_vector(labels[i], len(image_boxes), np.int64, f'{name}_labels[{i}]')
        xywh = np.hstack([image_boxes[:, :2], image_boxes[:, 2:] - image_boxes[:, :2]])
        per_image.append(
            [
                {'image_id': i, 'category_id': int(label) + 1, 'bbox': box, 'area': float(size)}
                for box, label, size in zip(
                    xywh.tolist(), image_labels, image_sizes.tolist(), strict=True
                )
            ]
        )
    return per_image
