"""WeightedSliceMetrics equals coco_map / deeplesion_froc on the explicitly re-weighted slice list;
the paired bootstrap: seeded, its interval holds the point estimate, a hand-checked case."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmlesion.evaluation.functional import coco_map, deeplesion_froc
from mmlesion.evaluation.functional.weighted_slices import WeightedSliceMetrics, resample_weights
from mmlesion.evaluation.paired_bootstrap import (
    aligned_results,
    paired_bootstrap,
    pooled_paired_bootstrap,
)


def random_slices(num_slices: int, seed: int, num_classes: int = 1) -> list[dict]:
    """Slices with 0-2 lesions (one an ignore region now and then) and 2-13 detections, some on
    the lesions (jittered), some anywhere; continuous scores."""
    rng = np.random.default_rng(seed)
    slices = []
    for _ in range(num_slices):
        m = int(rng.integers(0, 3))
        xy = rng.uniform(0, 80, size=(m, 2))
        gts = np.hstack([xy, xy + rng.uniform(8, 20, size=(m, 2))])
        ignore = rng.random(m) < 0.15
        dets = [rng.uniform(0, 80, size=(int(rng.integers(2, 12)), 2))]
        boxes = [np.hstack([dets[0], dets[0] + rng.uniform(8, 20, size=(len(dets[0]), 2))])]
        for box in gts:
            if rng.random() < 0.8:
                boxes.append((box + rng.normal(0, 1.5, size=4))[None])
        boxes = np.vstack(boxes) if boxes else np.zeros((0, 4))
        slices.append(
            {
                'gt_bboxes': gts,
                'gt_labels': rng.integers(0, num_classes, size=m),
                'gt_ignore': ignore,
                'pred_bboxes': boxes,
                'pred_scores': rng.random(len(boxes)),
                'pred_labels': rng.integers(0, num_classes, size=len(boxes)),
            }
        )
    return slices


def expanded(slices: list[dict], weights: np.ndarray) -> list[dict]:
    return [s for s, w in zip(slices, weights, strict=True) for _ in range(int(w))]


def reference_scores(slices: list[dict], num_classes: int) -> dict[str, float]:
    gts = [s['gt_bboxes'] for s in slices]
    ignore = [s['gt_ignore'] for s in slices]
    dets = [s['pred_bboxes'] for s in slices]
    scores = [s['pred_scores'] for s in slices]
    coco = coco_map(
        dets,
        scores,
        [s['pred_labels'] for s in slices],
        gts,
        [s['gt_labels'] for s in slices],
        gt_ignore=ignore,
        num_classes=num_classes,
    )
    sens = deeplesion_froc(dets, scores, gts, fps=(0.5, 1, 2, 4), gt_ignore=ignore)
    return {'mAP': coco['mAP'], 'AP50': coco['AP50'], 'avg_sens': float(np.mean(sens))}


@pytest.mark.parametrize('num_classes', [1, 2])
def test_weights_equal_the_metrics_on_the_explicitly_resampled_list(num_classes):
    slices = random_slices(30, seed=num_classes, num_classes=num_classes)
    metrics = WeightedSliceMetrics(slices, num_classes=num_classes)
    rows = np.vstack(
        [
            np.ones(30, dtype=int),  # the set itself
            resample_weights(30, 3, seed=5),  # bootstrap draws: multiplicities 0, 1, 2, ...
            (np.arange(30) % 3 == 0).astype(int),  # a subset
        ]
    )
    got = metrics.evaluate(rows)
    for b, row in enumerate(rows):
        want = reference_scores(expanded(slices, row), num_classes)
        for key, value in want.items():
            assert got[key][b] == pytest.approx(value, abs=1e-12, nan_ok=True), (b, key)


def test_a_row_without_lesions_or_false_positives_is_nan():
    slices = random_slices(10, seed=3)
    metrics = WeightedSliceMetrics(slices)
    no_lesions = np.array([1 if len(s['gt_bboxes']) == 0 else 0 for s in slices])
    assert no_lesions.any()
    assert np.isnan(metrics.evaluate(no_lesions)['mAP'][0])
    with pytest.raises(ValueError, match='one column per slice'):
        metrics.evaluate(np.ones(9))


def hand_made(num_slices: int, found_every: int) -> list[dict]:
    """One lesion a slice, four low-scored false positives a slice; the method finds (exactly,
    score 0.9) the lesion of every ``found_every``-th slice."""
    slices = []
    for i in range(num_slices):
        lesion = np.array([[10.0, 10.0, 30.0, 30.0]])
        far = np.array([[60.0 + j, 60.0, 70.0 + j, 70.0] for j in range(4)])
        found = i % found_every == 0
        boxes = np.vstack([lesion, far]) if found else far
        scores = np.r_[0.9, np.full(4, 0.1 + 0.001 * i)] if found else np.full(4, 0.1 + 0.001 * i)
        slices.append(
            {
                'img_path': f'{i:03d}.png',
                'gt_bboxes': lesion,
                'gt_labels': np.zeros(1, int),
                'gt_ignore': np.zeros(1, bool),
                'pred_bboxes': boxes,
                'pred_scores': scores,
                'pred_labels': np.zeros(len(boxes), int),
            }
        )
    return slices


def test_hand_checked_bootstrap():
    # A finds every lesion, B every second one: B's recall is the found fraction f, its
    # precision 1 up to there, so its AP is (number of the 101 recall thresholds <= f) / 101 and
    # its sensitivity f at every FP rate. Point: f = 1/2 -> 100 (1 - 51/101) and 50 points.
    perfect = WeightedSliceMetrics(hand_made(100, 1))
    half = WeightedSliceMetrics(hand_made(100, 2))
    result = paired_bootstrap(perfect, half, num_resamples=2000, seed=0)
    assert result['point']['map'] == pytest.approx(100 * (1 - 51 / 101))
    assert result['point']['froc_avg'] == pytest.approx(50.0)
    # The resampled f is Binomial(100, 1/2) / 100: a 95 % interval of about 50 ± 9.8 points.
    low, high = result['froc_avg']
    assert low == pytest.approx(50 - 9.8, abs=1.5) and high == pytest.approx(50 + 9.8, abs=1.5)
    assert result['undefined'] == {'map': 0, 'froc_avg': 0}


def test_interval_holds_the_point_and_the_seed_fixes_it():
    a = WeightedSliceMetrics(random_slices(60, seed=11))
    b = WeightedSliceMetrics(random_slices(60, seed=12))
    first = paired_bootstrap(a, b, num_resamples=300, seed=7)
    again = paired_bootstrap(a, b, num_resamples=300, seed=7)
    other = paired_bootstrap(a, b, num_resamples=300, seed=8)
    assert first == again
    assert first['map'] != other['map']
    for key in ('map', 'froc_avg'):
        low, high = first[key]
        assert low <= first['point'][key] <= high, key
    # A method against itself: every resampled difference is 0.
    same = paired_bootstrap(a, a, num_resamples=50, seed=0)
    assert same['map'] == [0.0, 0.0] and same['point']['froc_avg'] == 0.0


def test_pooled_bootstrap_averages_the_sets_and_equals_the_paired_one_for_one_set():
    a, b = (WeightedSliceMetrics(random_slices(40, seed=s)) for s in (21, 22))
    c, d = (WeightedSliceMetrics(random_slices(30, seed=s)) for s in (23, 24))
    assert pooled_paired_bootstrap([(a, b)], num_resamples=200, seed=3) == paired_bootstrap(
        a, b, num_resamples=200, seed=3
    )
    pooled = pooled_paired_bootstrap([(a, b), (c, d)], num_resamples=200, seed=3)
    first = paired_bootstrap(a, b, num_resamples=200, seed=3)
    second = paired_bootstrap(c, d, num_resamples=200, seed=4)  # set i draws with seed + i
    for key in ('map', 'froc_avg'):
        mean = (first['point'][key] + second['point'][key]) / 2
        assert pooled['point'][key] == pytest.approx(mean)
        # Averaging two independent differences narrows the interval below the wider one's.
        width = pooled[key][1] - pooled[key][0]
        assert width < max(first[key][1] - first[key][0], second[key][1] - second[key][0])
    with pytest.raises(ValueError, match='same slices: 40 vs 30'):
        pooled_paired_bootstrap([(a, c)])
    with pytest.raises(ValueError, match='at least one'):
        pooled_paired_bootstrap([])


def test_resample_weights_draw_every_slice_count():
    weights = resample_weights(7, 500, seed=1)
    assert weights.shape == (500, 7) and (weights.sum(axis=1) == 7).all()
    assert np.array_equal(weights, resample_weights(7, 500, seed=1))
    assert weights.mean() == pytest.approx(1.0)


def test_aligned_results_orders_by_slice_and_refuses_different_sets():
    a = [{'img_path': 'b', 'v': 1}, {'img_path': 'a', 'v': 2}]
    b = [{'img_path': 'a', 'v': 3}, {'img_path': 'b', 'v': 4}]
    ordered = aligned_results({'a': a, 'b': b})
    assert [r['v'] for r in ordered['a']] == [2, 1] and [r['v'] for r in ordered['b']] == [3, 4]
    with pytest.raises(ValueError, match="'c' was not evaluated on the same slices"):
        aligned_results({'a': a, 'c': [{'img_path': 'a'}]})


def test_non_finite_records_and_rates_are_refused():
    record = {
        'gt_bboxes': np.array([[0.0, 0.0, 10.0, 10.0]]),
        'gt_labels': np.zeros(1, int),
        'gt_ignore': np.zeros(1, bool),
        'pred_bboxes': np.array([[np.nan, 0.0, 10.0, 10.0]]),
        'pred_scores': np.ones(1),
        'pred_labels': np.zeros(1, int),
    }
    with pytest.raises(ValueError, match=r'det_boxes\[0\]\[0\] is \[nan'):
        WeightedSliceMetrics([record])
    record['pred_bboxes'] = record['gt_bboxes']
    with pytest.raises(ValueError, match='avg_sens_fps must be finite'):
        WeightedSliceMetrics([record], avg_sens_fps=[math.nan])
    with pytest.raises(ValueError, match=r'iou_thr must lie in \(0, 1\]'):
        WeightedSliceMetrics([record], iou_thr=math.nan)
