"""COCO mAP and DeepLesion FROC of many re-weighted copies of one evaluated slice set, at once.

A bootstrap resample of the test slices is the same slices with multiplicities (each slice drawn
0, 1, 2, ... times); a subset of them is the same slices with weights 0 / 1. Scoring thousands of
those through :func:`~.coco_map.coco_map` (pycocotools) would redo the same per-slice matching
thousands of times. Whether a detection is a true or a false positive depends only on its own
slice, so the matching runs once here:

- mAP: pycocotools' own ``COCOeval.evaluate`` (the matching of :func:`~.coco_map.coco_map`),
  then COCOeval's ``accumulate`` rewritten over a ``(B, num_slices)`` weight matrix: the
  cumulative true and false positives become weighted cumulative sums.
- FROC: the per-slice matching of :func:`~.froc.deeplesion_froc_curve`, then the pooled curve as
  weighted cumulative sums.

For integer weights the results equal :func:`~.coco_map.coco_map` (``mAP``, ``AP50``, no size
ranges, 100 detections per slice and class) and :func:`~.froc.deeplesion_froc` on the list in
which each slice appears as often as its weight; a slice drawn twice adds its detections twice
with equal scores, which pycocotools and the FROC then see as a tie (tests/test_weighted_slices.py
checks the equality). Only exact score ties *between different slices* may be ordered
differently (image order here, draw order in an explicit list), which moves nothing for
continuous detector scores.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Sequence

import numpy as np
from pycocotools.cocoeval import COCOeval

from ._inputs import check_fp_rates
from .coco_map import _to_coco
from .froc import _check_inputs, _match_image
from .froc_protocols import get_froc_protocol

#: The FROC convention these metrics follow: DeepLesionMetric's default.
DEFAULT_PROTOCOL = get_froc_protocol('mmlesion')

#: Elements of one working array (resamples × detections), ~16 MB of float64.
CHUNK_ELEMENTS = 2_000_000


def resample_weights(num_slices: int, num_resamples: int, seed: int) -> np.ndarray:
    """``(num_resamples, num_slices)`` int multiplicities: each row draws ``num_slices`` slices
    with replacement (numpy's ``default_rng(seed)``, so the same seed gives the same rows)."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, num_slices, size=(num_resamples, num_slices))
    offsets = np.arange(num_resamples)[:, None] * num_slices
    counts = np.bincount((draws + offsets).ravel(), minlength=num_resamples * num_slices)
    return counts.reshape(num_resamples, num_slices)


class WeightedSliceMetrics:
    """mAP, AP50 and average FROC sensitivity of a fixed set of evaluated slices under weights,
    read as :class:`DeepLesionMetric` does with its default protocol (``'mmlesion'``: continuous
    boxes, IoU, the top of each vertical step of the FROC curve).

    Args:
        results: one record per slice in the form :meth:`DeepLesionMetric.process` keeps
            (``gt_bboxes`` ``(M, 4)``, ``gt_labels`` ``(M,)``, ``gt_ignore`` ``(M,)`` bool,
            ``pred_bboxes`` ``(N, 4)``, ``pred_scores`` ``(N,)``, ``pred_labels`` ``(N,)``;
            pixels).
        num_classes: number of classes of the labels (None: one more than the largest).
        avg_sens_fps: false positives per slice averaged into ``avg_sens``.
        iou_thr: FROC hit threshold (the mAP keeps COCO's thresholds).
    """

    def __init__(
        self,
        results: Sequence[dict],
        num_classes: int | None = None,
        avg_sens_fps: Sequence[float] = DEFAULT_PROTOCOL.avg_sens_fps,
        iou_thr: float = 0.5,
    ) -> None:
        if not results:
            raise ValueError('WeightedSliceMetrics needs at least one slice')
        self.num_slices = len(results)
        self.avg_sens_fps = check_fp_rates(avg_sens_fps, 'avg_sens_fps')
        det_boxes = [r['pred_bboxes'] for r in results]
        det_scores = [r['pred_scores'] for r in results]
        gt_boxes = [r['gt_bboxes'] for r in results]
        gt_ignore = [np.asarray(r['gt_ignore'], bool) for r in results]
        self._classes = self._match_coco(
            det_boxes,
            det_scores,
            [r['pred_labels'] for r in results],
            gt_boxes,
            [r['gt_labels'] for r in results],
            gt_ignore,
            num_classes,
        )
        self._froc = self._match_froc(det_boxes, det_scores, gt_boxes, gt_ignore, iou_thr)
        self._resampled: dict[tuple[int, int], dict[str, np.ndarray]] = {}

    # -- matching, once ------------------------------------------------------------------------
    def _match_coco(self, det_boxes, det_scores, det_labels, gt_boxes, gt_labels, gt_ignore, k):
        """Per class: detections in COCOeval's pooled order with their slice, true / false
        positive flags per IoU threshold, and the non-ignored ground truths of each slice."""
        gt_coco, det_coco = _to_coco(
            det_boxes, det_scores, det_labels, gt_boxes, gt_labels, gt_ignore, k, None, None
        )
        evaluator = COCOeval(gt_coco, det_coco, 'bbox')
        evaluator.params.areaRng = [[0.0, math.inf]]
        evaluator.params.areaRngLbl = ['all']
        with contextlib.redirect_stdout(io.StringIO()):
            evaluator.evaluate()
        params = evaluator.params
        self._iou_thrs = params.iouThrs  # 0.50:0.05:0.95
        self._recall_thrs = params.recThrs  # 0:0.01:1, 101 points
        max_det = params.maxDets[-1]
        num_images = len(params.imgIds)
        classes = []
        for k_index in range(len(params.catIds)):
            evals = evaluator.evalImgs[k_index * num_images : (k_index + 1) * num_images]
            scores, slices, matched, ignored = [], [], [], []
            lesions = np.zeros(num_images, dtype=np.float64)
            for image, e in enumerate(evals):
                if e is None:
                    continue
                n = len(e['dtScores'][:max_det])
                scores.append(np.asarray(e['dtScores'][:max_det], dtype=np.float64))
                slices.append(np.full(n, image, dtype=np.int64))
                matched.append(np.asarray(e['dtMatches'])[:, :max_det])  # (T, n)
                ignored.append(np.asarray(e['dtIgnore'])[:, :max_det])
                lesions[image] = np.count_nonzero(np.asarray(e['gtIgnore']) == 0)
            num_thrs = len(self._iou_thrs)
            if scores:
                all_scores = np.concatenate(scores)
                order = np.argsort(-all_scores, kind='mergesort')  # COCOeval's own order
                matched_all = np.concatenate(matched, axis=1)[:, order] != 0
                ignored_all = np.concatenate(ignored, axis=1)[:, order].astype(bool)
                slice_of = np.concatenate(slices)[order]
            else:
                matched_all = ignored_all = np.zeros((num_thrs, 0), dtype=bool)
                slice_of = np.zeros(0, dtype=np.int64)
            classes.append(
                {
                    'slice': slice_of,
                    'tp': (matched_all & ~ignored_all).astype(np.float64),
                    'fp': (~matched_all & ~ignored_all).astype(np.float64),
                    'lesions': lesions,
                }
            )
        return classes

    def _match_froc(self, det_boxes, det_scores, gt_boxes, gt_ignore, iou_thr):
        """Detections in the FROC's pooled order with their slice, false-positive flag and
        number of lesions found first, and the lesions of each slice."""
        dets, scores, gts, ignores = _check_inputs(
            det_boxes, det_scores, gt_boxes, gt_ignore, 'iou', iou_thr
        )
        is_fp, found, slices = [], [], []
        for image, (boxes, s, g, ig) in enumerate(zip(dets, scores, gts, ignores, strict=True)):
            fp, n = _match_image(boxes, s, g, ig, iou_thr, 'iou', DEFAULT_PROTOCOL.box_size_offset)
            is_fp.append(fp)
            found.append(n)
            slices.append(np.full(len(boxes), image, dtype=np.int64))
        order = np.argsort(-np.concatenate(scores), kind='stable')
        return {
            'slice': np.concatenate(slices)[order],
            'fp': np.concatenate(is_fp)[order].astype(np.float64),
            'found': np.concatenate(found)[order].astype(np.float64),
            'lesions': np.array([(~ig).sum() for ig in ignores], dtype=np.float64),
        }

    # -- scoring, per weight row ---------------------------------------------------------------
    def evaluate(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """``{'mAP', 'AP50', 'avg_sens'}``, each ``(B,)`` in [0, 1] (NaN where undefined, as in
        :class:`DeepLesionMetric`), for ``weights`` ``(B, num_slices)`` of non-negative integers
        (a 1-D vector is one row)."""
        weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        if weights.shape[1] != self.num_slices:
            raise ValueError(
                f'weights must have one column per slice ({self.num_slices}), '
                f'got shape {weights.shape}'
            )
        if (weights < 0).any():
            raise ValueError('weights must be >= 0')
        precision = self._coco_precision(weights)  # (B, T, R, K), NaN where undefined
        ap50 = np.isclose(self._iou_thrs, 0.5)
        with np.errstate(invalid='ignore'), warnings_off():
            result = {
                'mAP': np.nanmean(precision.reshape(len(weights), -1), axis=1),
                'AP50': np.nanmean(precision[:, ap50].reshape(len(weights), -1), axis=1),
            }
        result['avg_sens'] = self._avg_sens(weights)
        return result

    def resampled(self, num_resamples: int, seed: int) -> dict[str, np.ndarray]:
        """:meth:`evaluate` on the bootstrap rows of :func:`resample_weights`
        (``num_resamples``, ``seed``), computed once per instance: a method compared with several
        others is scored on the same draws only once."""
        key = (num_resamples, seed)
        if key not in self._resampled:
            weights = resample_weights(self.num_slices, num_resamples, seed)
            self._resampled[key] = self.evaluate(weights)
        return self._resampled[key]

    def _coco_precision(self, weights: np.ndarray) -> np.ndarray:
        """COCOeval.accumulate's interpolated precision ``(B, T, R, K)`` (NaN for a class
        without ground truth in a row, where COCOeval writes -1).

        Only the true positives' points of each precision-recall curve are formed: a recall
        threshold is first reached at a true positive, and the precision envelope there (the
        best precision at that recall or beyond) never comes from a false positive's point,
        whose precision is below that of the true positive before it. At recall 0 the envelope
        is the best precision of all, again a true positive's (or 0 without any).
        """
        num_rows, num_thrs = len(weights), len(self._iou_thrs)
        num_recalls = len(self._recall_thrs)
        out = np.full((num_rows, num_thrs, num_recalls, len(self._classes)), np.nan)
        for k, cls in enumerate(self._classes):
            num_dets = len(cls['slice'])
            positives = weights @ cls['lesions']  # (B,) non-ignored ground truths
            out[positives > 0, :, :, k] = 0.0
            if num_dets == 0:
                continue
            step = max(1, CHUNK_ELEMENTS // num_dets)
            for start in range(0, num_rows, step):
                rows = np.arange(start, min(start + step, num_rows))
                rows = rows[positives[rows] > 0]
                if len(rows) == 0:
                    continue
                w = weights[rows][:, cls['slice']]  # (b, D) weight of each detection
                npig = positives[rows][:, None]
                for t in range(num_thrs):
                    hits = np.flatnonzero(cls['tp'][t])
                    if len(hits) == 0:
                        continue  # precision 0 at every recall
                    tp = np.cumsum(w[:, hits], axis=1)
                    # False positives before each hit: sums between consecutive hits (a hit
                    # itself is no false positive, so reduceat's inclusive ends add nothing).
                    between = np.add.reduceat(w * cls['fp'][t], np.r_[0, hits], axis=1)
                    fp = np.cumsum(between[:, : len(hits)], axis=1)
                    recall = tp / npig
                    precision = tp / (fp + tp + np.spacing(1))
                    precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
                    for b, row in enumerate(rows):
                        index = np.searchsorted(recall[b], self._recall_thrs, side='left')
                        reached = index < len(hits)
                        q = np.zeros(num_recalls)
                        q[reached] = precision[b, index[reached]]
                        out[row, t, :, k] = q
        return out

    def _avg_sens(self, weights: np.ndarray) -> np.ndarray:
        """Mean FROC sensitivity at ``avg_sens_fps`` per row; NaN where a rate is not reached or
        there is no lesion (as :class:`DeepLesionMetric`'s ``avg_sens``)."""
        froc = self._froc
        num_rows, num_dets = len(weights), len(froc['slice'])
        num_images = weights.sum(axis=1)
        lesions = weights @ froc['lesions']
        result = np.full(num_rows, np.nan)
        if num_dets == 0:
            return result
        step = max(1, CHUNK_ELEMENTS // num_dets)
        for start in range(0, num_rows, step):
            rows = slice(start, start + step)
            w = weights[rows][:, froc['slice']]
            fp_per_image = (
                np.cumsum(w * froc['fp'], axis=1) / np.maximum(num_images[rows], 1)[:, None]
            )
            found = np.cumsum(w * froc['found'], axis=1)
            sens = np.empty((len(w), len(self.avg_sens_fps)))
            for j, rate in enumerate(self.avg_sens_fps):
                # The last curve point at or below the rate (the curve is non-decreasing).
                last = (fp_per_image <= rate).sum(axis=1) - 1
                value = np.where(last >= 0, found[np.arange(len(w)), np.maximum(last, 0)], 0.0)
                with np.errstate(divide='ignore', invalid='ignore'):
                    value = value / lesions[rows]
                value[rate > fp_per_image[:, -1]] = np.nan
                value[lesions[rows] == 0] = np.nan
                sens[:, j] = value
            result[rows] = sens.mean(axis=1)  # NaN propagates: no average over reached rates
        return result


@contextlib.contextmanager
def warnings_off():
    """Silence numpy's 'Mean of empty slice' for rows where no class is defined (NaN result)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)
        yield
