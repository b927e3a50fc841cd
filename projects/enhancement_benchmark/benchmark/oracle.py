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

The same procedure, over other candidates (:func:`choose_per_slice` takes per-candidate,
per-slice records, whatever produced them):

- ``oracle_id``: the settings and :data:`~.setting_sweep.IDENTITY` (no enhancement);
- ``oracle_null`` (:func:`null_oracle`): nuisance copies of the *unenhanced* slice
  (:mod:`.nuisance`), no enhancement at all. Its margin over the detector alone is pure
  selection: what an oracle gains from choosing among equally good views of a slice;
- ``oracle_crossfit`` (:func:`crossfit_choice`): each slice's setting chosen on a nuisance copy
  of the slice, then scored on the original: the part of the oracle's choice that a perfect
  image-based selector could make, the rest being selection on the detector's noise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence

import numpy as np

from mmlesion.evaluation.functional.froc import _check_inputs, _match_image
from mmlesion.evaluation.functional.weighted_slices import DEFAULT_PROTOCOL, WeightedSliceMetrics

from .setting_sweep import SweepResult, is_identity, records_metrics, setting_label


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


def choose_per_slice(
    candidates: Sequence[Hashable],
    records: Mapping[Hashable, list[dict]],
    num_classes: int | None = None,
) -> dict:
    """Each slice's best candidate by the module's criterion.

    Args:
        candidates: the candidates in tie-breaking order (settings, nuisance copies, ...).
        records: candidate -> one record per slice, the slices in the same order for all.

    Returns:
        ``{'best': (N,) index of the chosen candidate, 'slice_ap': (S, N) criterion 1 of
        every candidate, 'fp_score': (S, N) criterion 2}``.
    """
    ap = np.stack([slice_ap(records[c], num_classes) for c in candidates])
    fp = np.stack([false_positive_score(records[c]) for c in candidates])
    order = np.arange(len(candidates))[:, None] * np.ones_like(ap)
    # np.lexsort sorts ascending by the last key first: best = largest AP, then smallest FP
    # score, then earliest candidate.
    best = np.array(
        [np.lexsort((order[:, i], fp[:, i], -ap[:, i]))[0] for i in range(ap.shape[1])],
        dtype=np.int64,
    )
    return {'best': best, 'slice_ap': ap, 'fp_score': fp}


def oracle_choice(sweep: SweepResult) -> dict:
    """Each slice's best setting of the sweep by the module's criterion.

    Returns:
        ``{'records': per-slice records of the chosen settings, 'settings': (N,) chosen
        setting per slice, 'slice_ap': (S, N) criterion 1 of every candidate,
        'chosen_ap': (N,) criterion 1 of the choice}``.
    """
    choice = choose_per_slice(sweep.settings, sweep.records, len(sweep.classes) or None)
    best, ap = choice['best'], choice['slice_ap']
    chosen = [sweep.settings[b] for b in best]
    return {
        'records': [sweep.records[s][i] for i, s in enumerate(chosen)],
        'settings': chosen,
        'slice_ap': ap,
        'chosen_ap': ap[best, np.arange(ap.shape[1])],
    }


def null_oracle(copies: Mapping[Hashable, list[dict]], classes: Sequence[str]) -> dict:
    """The oracle over nuisance copies of the unenhanced slices.

    Args:
        copies: nuisance copy -> the detector alone's records of every slice on that copy (boxes
            in the original frame); the first copy is the original slice, the detector alone.
        classes: the dataset's classes.

    Returns:
        :func:`oracle_choice`'s keys (``'settings'`` holding the chosen copies), plus
        ``'margin_slice_ap'``: the mean per-slice AP of the choice minus that of the first copy
        (≥ 0 by construction), and ``'margin_map'``: the same for the pooled mAP; both in
        [0, 1] units.
    """
    candidates = list(copies)
    choice = choose_per_slice(candidates, copies, len(classes) or None)
    best, ap = choice['best'], choice['slice_ap']
    records = [copies[candidates[b]][i] for i, b in enumerate(best)]
    chosen_ap = ap[best, np.arange(ap.shape[1])]
    base_map = records_metrics(copies[candidates[0]], classes)['deeplesion/mAP']
    return {
        'records': records,
        'settings': [candidates[b] for b in best],
        'slice_ap': ap,
        'chosen_ap': chosen_ap,
        'margin_slice_ap': float(chosen_ap.mean() - ap[0].mean()),
        'margin_map': float(records_metrics(records, classes)['deeplesion/mAP'] - base_map),
    }


def crossfit_choice(select: SweepResult, score: SweepResult) -> dict:
    """Each slice's setting chosen on one sweep (a nuisance copy) and scored on another (the
    original slices).

    Both sweeps hold the same settings over the same slices in the same order. With ``select``
    equal to ``score`` this is :func:`oracle_choice`.

    Returns:
        :func:`oracle_choice`'s keys, the records and ``chosen_ap`` taken from ``score``;
        ``'agreement'``: the share of slices whose choice equals the oracle's on ``score``.
    """
    if select.settings != score.settings or select.num_slices != score.num_slices:
        raise ValueError(
            'crossfit_choice needs the same settings and slices in both sweeps, got '
            f'{len(select.settings)} settings × {select.num_slices} slices and '
            f'{len(score.settings)} × {score.num_slices}'
        )
    first = zip(select.records[select.settings[0]], score.records[score.settings[0]], strict=True)
    for a, b in first:
        if a['img_path'] != b['img_path']:
            raise ValueError(f'crossfit_choice: slice {a["img_path"]} faces {b["img_path"]}')
    num_classes = len(score.classes) or None
    chosen_on = choose_per_slice(select.settings, select.records, num_classes)['best']
    oracle = choose_per_slice(score.settings, score.records, num_classes)
    ap = oracle['slice_ap']
    chosen = [score.settings[b] for b in chosen_on]
    return {
        'records': [score.records[s][i] for i, s in enumerate(chosen)],
        'settings': chosen,
        'slice_ap': ap,
        'chosen_ap': ap[chosen_on, np.arange(ap.shape[1])],
        'agreement': float((chosen_on == oracle['best']).mean()),
    }


def candidate_spread(
    records: Mapping[Hashable, list[dict]], classes: Sequence[str], slice_ap_: np.ndarray
) -> dict:
    """How much the detections move between candidates (settings or nuisance copies), percent.

    Args:
        records: candidate -> per-slice records.
        slice_ap_: ``(S, N)`` per-slice AP of the candidates, in the order of ``records``.

    Returns:
        ``pooled_map_std`` and ``pooled_map_range``: the standard deviation and max − min over
        candidates of the pooled mAP; ``slice_ap_std``: the standard deviation over candidates
        of a slice's AP, averaged over slices; ``num_candidates``.
    """
    maps = np.array([records_metrics(r, classes)['deeplesion/mAP'] for r in records.values()])
    return {
        'num_candidates': len(maps),
        'pooled_map_std': float(100 * maps.std()),
        'pooled_map_range': float(100 * (maps.max() - maps.min())),
        'slice_ap_std': float(100 * slice_ap_.std(axis=0).mean()),
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
            | ({'label': setting_label(s)} if is_identity(s) else {})
            for s in sweep.settings
            if counts[s]
        ],
        'mean_slice_ap': float(100 * choice['chosen_ap'].mean()),
        'best_fixed_mean_slice_ap': float(100 * mean_ap[best_fixed]),
        'best_fixed_setting': list(sweep.settings[best_fixed]),
    }
