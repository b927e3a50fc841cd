"""The oracle: the ceiling of choosing the enhancement setting per image. An upper bound, never a
method: it looks at each test slice's own ground truth.

Criterion, per test slice and candidate setting (a setting of the search grid), compared
lexicographically:

1. the slice's own COCO AP@[.50:.95]: the mAP of the detections on that slice alone against its
   lesions (pycocotools' matching and 101-point interpolation, as ``deeplesion/mAP``; a slice
   without a lesion scores 0 for every setting);
2. on a tie, the smaller sum of the scores of the slice's false positives (detections that hit
   no lesion and no ignore region at IoU 0.5, the FROC's matching): the same hits with less
   confident false alarms;
3. on a further tie, the earlier setting of the candidate list.

The oracle takes each slice's best setting and is scored like any method, on the pooled
detections. By construction its criterion is at least that of every candidate on every slice;
the pooled mAP and FROC, which also compare scores *across* slices, are in practice above every
fixed candidate but not guaranteed to be.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from mmlesion.evaluation.functional.froc import _check_inputs, _match_image
from mmlesion.evaluation.functional.weighted_slices import DEFAULT_PROTOCOL, WeightedSliceMetrics

from .setting_sweep import SweepResult


def slice_ap(records: list[dict], num_classes: int | None = None) -> np.ndarray:
    """``(N,)`` COCO AP@[.50:.95] of each slice alone, 0 for a slice without lesions."""
    scorer = WeightedSliceMetrics(records, num_classes)
    ap = np.empty(len(records))
    # One slice a row; blocks of rows keep the weight matrix small.
    for start in range(0, len(records), 64):
        rows = np.eye(len(records))[start : start + 64]
        ap[start : start + len(rows)] = scorer.evaluate(rows)['mAP']
    return np.nan_to_num(ap, nan=0.0)


def false_positive_score(records: list[dict], iou_thr: float = 0.5) -> np.ndarray:
    """``(N,)`` sum of the scores of each slice's false positives (FROC matching)."""
    dets, scores, gts, ignores = _check_inputs(
        [r['pred_bboxes'] for r in records],
        [r['pred_scores'] for r in records],
        [r['gt_bboxes'] for r in records],
        [np.asarray(r['gt_ignore'], bool) for r in records],
        'iou',
    )
    total = np.zeros(len(records))
    for i, (boxes, s, g, ig) in enumerate(zip(dets, scores, gts, ignores, strict=True)):
        is_fp, _ = _match_image(boxes, s, g, ig, iou_thr, 'iou', DEFAULT_PROTOCOL.box_size_offset)
        total[i] = s[is_fp].sum()
    return total


def oracle_choice(sweep: SweepResult) -> dict:
    """Each slice's best setting of the sweep by the module's criterion.

    Returns:
        ``{'records': per-slice records of the chosen settings, 'settings': (N,) chosen
        setting per slice, 'slice_ap': (S, N) criterion 1 of every candidate,
        'chosen_ap': (N,) criterion 1 of the choice}``.
    """
    num_classes = len(sweep.classes) or None
    ap = np.stack([slice_ap(sweep.records[s], num_classes) for s in sweep.settings])
    fp = np.stack([false_positive_score(sweep.records[s]) for s in sweep.settings])
    num_settings = len(sweep.settings)
    order = np.arange(num_settings)[:, None] * np.ones_like(ap)
    # np.lexsort sorts ascending by the last key first: best = largest AP, then smallest FP
    # score, then earliest setting.
    best = np.array(
        [np.lexsort((order[:, i], fp[:, i], -ap[:, i]))[0] for i in range(ap.shape[1])],
        dtype=np.int64,
    )
    chosen = [sweep.settings[b] for b in best]
    records = [sweep.records[s][i] for i, s in enumerate(chosen)]
    return {
        'records': records,
        'settings': chosen,
        'slice_ap': ap,
        'chosen_ap': ap[best, np.arange(ap.shape[1])],
    }


def oracle_summary(sweep: SweepResult, choice: dict) -> dict:
    """JSON summary: how often each setting was chosen, and the mean per-slice AP (percent) of
    the oracle and of the best fixed candidate."""
    counts = Counter(choice['settings'])
    mean_ap = choice['slice_ap'].mean(axis=1)
    best_fixed = int(np.argmax(mean_ap))
    return {
        'criterion': 'per-slice COCO AP@[.50:.95], then the smaller sum of false-positive scores',
        'chosen_settings': [
            {'clip_limit': s[0], 'grid_size': s[1], 'num_slices': counts[s]}
            for s in sweep.settings
            if counts[s]
        ],
        'mean_slice_ap': float(100 * choice['chosen_ap'].mean()),
        'best_fixed_mean_slice_ap': float(100 * mean_ap[best_fixed]),
        'best_fixed_setting': list(sweep.settings[best_fixed]),
    }
