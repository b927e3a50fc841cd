"""Score thresholds that hold a detector to a false-positive rate: operating points on a FROC.

A detector is used at one score threshold; a clinician's engineer chooses it by how many false
positives per image the reader will see, measured on data with known lesions (the validation
split). On the FROC curve of :func:`.froc.deeplesion_froc_curve` the operating point for a target
rate is the *lowest* threshold whose kept detections (``score >= threshold``) make at most that
many false positives per image: the most sensitive setting within the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .froc import deeplesion_froc_curve
from .froc_protocols import FROCProtocol


@dataclass(frozen=True)
class OperatingPoint:
    """One score threshold and what it gives on the data it was measured on.

    Attributes:
        fp_per_image: the target false positives per image.
        score_thr: keep detections with ``score >= score_thr``.
        measured_fp_per_image: false positives per image at ``score_thr`` (``<= fp_per_image``).
        sensitivity: fraction of the lesions found at ``score_thr``; NaN without lesions.
    """

    fp_per_image: float
    score_thr: float
    measured_fp_per_image: float
    sensitivity: float


def froc_operating_points(
    det_boxes: Sequence[ArrayLike],
    det_scores: Sequence[ArrayLike],
    gt_boxes: Sequence[ArrayLike],
    fp_per_image: Sequence[float],
    iou_thr: float = 0.5,
    overlap: str = 'iou',
    gt_ignore: Sequence[ArrayLike] | None = None,
    protocol: str | FROCProtocol = 'mmlesion',
) -> list[OperatingPoint]:
    """The lowest score threshold at which the detections make at most each target FP rate.

    Detections of equal score are kept or dropped together (a threshold cannot split them), so a
    threshold sits at the end of a run of equal scores. When even the highest-scoring detections
    exceed a target, the threshold is just above the highest score (nothing is kept). When all
    detections together stay within a target, it is the lowest score given: the detector's own
    ``test_cfg`` score threshold already dropped the rest, so a lower one was never measured.

    Args:
        det_boxes, det_scores, gt_boxes, iou_thr, overlap, gt_ignore, protocol: as for
            :func:`.froc.deeplesion_froc_curve` (per image, pixels).
        fp_per_image: target false positives per image, each ``>= 0``.

    Returns:
        One :class:`OperatingPoint` per target, in the given order. A larger target never gets a
        higher threshold.

    Raises:
        ValueError: a negative or non-finite target, or no detection at all (no threshold can be
            measured).
    """
    targets = np.asarray(fp_per_image, dtype=np.float64).reshape(-1)
    if not np.isfinite(targets).all() or (targets < 0).any():
        raise ValueError(f'fp_per_image must be finite and >= 0, got {targets.tolist()}')
    rates, sensitivity, scores = deeplesion_froc_curve(
        det_boxes,
        det_scores,
        gt_boxes,
        iou_thr=iou_thr,
        overlap=overlap,
        gt_ignore=gt_ignore,
        protocol=protocol,
    )
    if len(scores) == 0:
        raise ValueError('no detection at all: no score threshold can be measured')
    # A threshold can only cut after the last detection of a run of equal scores.
    cuts = np.flatnonzero(np.r_[scores[1:] < scores[:-1], True])
    nothing_found = np.nan if np.isnan(sensitivity).all() else 0.0
    points = []
    for target in targets:
        within = cuts[rates[cuts] <= target]
        if len(within) == 0:
            above_all = float(np.nextafter(scores[0], np.inf))
            points.append(OperatingPoint(float(target), above_all, 0.0, nothing_found))
            continue
        last = within[-1]
        points.append(
            OperatingPoint(
                float(target), float(scores[last]), float(rates[last]), float(sensitivity[last])
            )
        )
    return points
