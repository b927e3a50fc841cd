"""The named FROC protocols against independent implementations of their descriptions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import interpolate
from test_deeplesion_metric import evaluate, make_sample
from test_froc import random_case

from mmlesion.evaluation import FROC_PROTOCOLS, DeepLesionMetric, deeplesion_froc
from mmlesion.evaluation.functional import get_froc_protocol

RATES = (0.1, 0.25, 0.5, 1, 1.5, 2, 3, 4, 8, 16)

# What each preset is, written out from its reference file (froc_protocols.py names them):
# the +1 of inclusive pixel boxes, and how the curve is read.
DESCRIPTIONS = {
    'mmlesion': dict(plus_one=False, reading='top'),
    '3dce': dict(plus_one=True, reading='extrapolate'),
    'mulan': dict(plus_one=True, reading='hold'),
    'mp3d': dict(plus_one=False, reading='truncate'),
}


def iou(det, gt, plus_one: bool) -> float:
    one = 1.0 if plus_one else 0.0
    iw = max(min(det[2], gt[2]) - max(det[0], gt[0]) + one, 0.0)
    ih = max(min(det[3], gt[3]) - max(det[1], gt[1]) + one, 0.0)
    area_det = (det[2] - det[0] + one) * (det[3] - det[1] + one)
    area_gt = (gt[2] - gt[0] + one) * (gt[3] - gt[1] + one)
    return iw * ih / (area_det + area_gt - iw * ih)


def curve_points(det_boxes, det_scores, gt_boxes, plus_one: bool):
    """(FP per image, sensitivity) after each detection, highest score first, as the reference
    codes' ``FROC()`` builds them: no point at the origin."""
    pooled = sorted(
        ((float(s), i, j) for i, scores in enumerate(det_scores) for j, s in enumerate(scores)),
        reverse=True,
    )
    found = [[False] * len(gts) for gts in gt_boxes]
    num_gts = sum(len(gts) for gts in gt_boxes)
    hits = misses = 0
    points = []
    for _, i, j in pooled:
        overlaps = [iou(det_boxes[i][j], gt, plus_one) for gt in gt_boxes[i]]
        if not overlaps or max(overlaps) < 0.5:
            misses += 1
        for k, value in enumerate(overlaps):
            if value >= 0.5 and not found[i][k]:
                found[i][k] = True
                hits += 1
        points.append((misses / len(gt_boxes), hits / num_gts))
    return points


def read(points, rate: float, reading: str) -> float:
    """The sensitivity at ``rate``, from the protocol's description."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    if rate > xs[-1]:
        if reading in ('top', 'truncate'):
            return math.nan
        if reading == 'hold':
            return ys[-1]
        # extrapolate: the straight line through the last two points.
        if len(points) < 2 or xs[-2] == xs[-1]:
            return math.nan
        return ys[-1] + (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) * (rate - xs[-1])
    if reading == 'top':
        # The curve from (0, 0); the last point at or below the rate.
        below = [y for x, y in points if x <= rate]
        return below[-1] if below else 0.0
    # Textbook linear interpolation between the two points around the rate.
    if rate < xs[0]:
        return 0.0  # only a false positive starts the curve right of 0
    if rate == xs[0]:
        return ys[0]
    k = next(k for k, x in enumerate(xs) if x >= rate)
    return ys[k - 1] + (ys[k] - ys[k - 1]) * (rate - xs[k - 1]) / (xs[k] - xs[k - 1])


def described(det_boxes, det_scores, gt_boxes, rates, name: str) -> np.ndarray:
    spec = DESCRIPTIONS[name]
    points = curve_points(det_boxes, det_scores, gt_boxes, spec['plus_one'])
    return np.array([read(points, rate, spec['reading']) for rate in rates])


def distinct_score_case(rng: np.random.Generator):
    """A random case of test_froc with distinct scores (the references leave ties unordered)
    and at least one detection and one lesion."""
    while True:
        det_boxes, det_scores, gt_boxes, _ = random_case(rng, integer_grid=bool(rng.integers(2)))
        total = sum(len(s) for s in det_scores)
        if total and sum(len(g) for g in gt_boxes):
            scores = iter(rng.permutation(total) / total + 0.01)
            det_scores = [np.array([next(scores) for _ in s]) for s in det_scores]
            return det_boxes, det_scores, gt_boxes


@pytest.mark.parametrize('name', sorted(DESCRIPTIONS))
def test_each_preset_matches_its_description_on_random_cases(name: str) -> None:
    rng = np.random.default_rng(7)
    for case in range(200):
        det_boxes, det_scores, gt_boxes = distinct_score_case(rng)
        expected = described(det_boxes, det_scores, gt_boxes, RATES, name)
        actual = deeplesion_froc(det_boxes, det_scores, gt_boxes, RATES, protocol=name)
        np.testing.assert_allclose(actual, expected, equal_nan=True, err_msg=f'case {case}')


@pytest.mark.parametrize('name', ['3dce', 'mulan', 'mp3d'])
def test_presets_agree_with_scipy_interp1d_where_the_reference_is_defined(name: str) -> None:
    """The references read the curve with ``interp1d``: wherever that gives a finite value (it
    raises below the curve without extrapolation, and gives inf or NaN on a vertical segment),
    the preset gives the same."""
    rng = np.random.default_rng(11)
    spec = DESCRIPTIONS[name]
    compared = 0
    for _ in range(200):
        det_boxes, det_scores, gt_boxes = distinct_score_case(rng)
        points = curve_points(det_boxes, det_scores, gt_boxes, spec['plus_one'])
        if len(points) < 2:
            continue
        fp, sens = np.array(points).T
        actual = deeplesion_froc(det_boxes, det_scores, gt_boxes, RATES, protocol=name)
        for rate, value in zip(RATES, actual, strict=True):
            if spec['reading'] == 'hold' and rate > fp[-1]:
                reference = sens[-1]  # MULAN's avgFP_out branch
            elif spec['reading'] == 'truncate' and rate > fp[-1]:
                continue  # MP3D leaves these rates out
            elif spec['reading'] == 'hold' and rate < fp[0]:
                continue  # interp1d without fill_value raises there
            else:
                with np.errstate(divide='ignore', invalid='ignore'):
                    curve = interpolate.interp1d(fp, sens, fill_value='extrapolate')
                    reference = float(curve(rate))
            if np.isfinite(reference):
                assert value == pytest.approx(reference, abs=1e-12)
                compared += 1
            elif rate > fp[-1]:
                assert np.isnan(value)  # a vertical last segment extended: no value
            # else: at or below a first point shared with the next one, scipy divides by zero;
            # the presets give the first point's value (froc_protocols.py).
    assert compared > 500


def test_hand_made_curve_where_every_reading_differs() -> None:
    # Two images, one lesion each. In score order: a false positive on A, A's lesion, a false
    # positive on B, B's lesion. Curve: (0.5, 0), (0.5, 0.5), (1, 0.5), (1, 1).
    gt_boxes = [np.array([[10, 10, 30, 30]]), np.array([[50, 50, 70, 70]])]
    det_boxes = [
        np.array([[100, 100, 110, 110], [10, 10, 30, 30]]),
        np.array([[100, 100, 110, 110], [50, 50, 70, 70]]),
    ]
    det_scores = [np.array([0.9, 0.8]), np.array([0.7, 0.6])]
    rates = (0.25, 0.5, 0.75, 1, 2)
    results = {
        name: deeplesion_froc(det_boxes, det_scores, gt_boxes, rates, protocol=name)
        for name in FROC_PROTOCOLS
    }
    # mmlesion: the top of each vertical rise; nothing beyond the curve.
    np.testing.assert_array_equal(results['mmlesion'], [0, 0.5, 0.5, 1, np.nan])
    # The references: the bottom of the rise (interp1d at a duplicated x takes the first).
    np.testing.assert_array_equal(results['3dce'], [0, 0, 0.5, 0.5, np.nan])  # last step vertical
    np.testing.assert_array_equal(results['mulan'], [0, 0, 0.5, 0.5, 1])  # held
    np.testing.assert_array_equal(results['mp3d'], [0, 0, 0.5, 0.5, np.nan])  # left out


def test_extrapolation_after_a_final_false_positive_holds_the_last_sensitivity() -> None:
    gt_boxes = [np.array([[10, 10, 30, 30]])]
    det_boxes = [np.array([[10, 10, 30, 30], [100, 100, 110, 110]])]
    det_scores = [np.array([0.9, 0.1])]
    # Curve: (0, 1), (1, 1). Rates 2 and 16 lie beyond it.
    for name, expected in [('mmlesion', np.nan), ('3dce', 1), ('mulan', 1), ('mp3d', np.nan)]:
        sens = deeplesion_froc(det_boxes, det_scores, gt_boxes, (1, 2, 16), protocol=name)
        np.testing.assert_array_equal(sens, [1, expected, expected], err_msg=name)


def test_plus_one_box_convention_turns_a_near_miss_into_a_hit() -> None:
    # IoU 0.49 with continuous boxes, (5.9 * 11) / 121 = 0.536 with inclusive pixel boxes.
    gt_boxes = [np.array([[0, 0, 10, 10]])]
    det_boxes = [np.array([[0, 0, 4.9, 10], [50, 50, 60, 60]])]
    det_scores = [np.array([0.9, 0.1])]
    for name, found in [('mmlesion', 0), ('3dce', 1), ('mulan', 1), ('mp3d', 0)]:
        sens = deeplesion_froc(det_boxes, det_scores, gt_boxes, (1,), protocol=name)
        assert sens[0] == found, name


def test_mp3d_reports_its_own_rates_and_averages_all_six() -> None:
    assert FROC_PROTOCOLS['mp3d'].fps == (0.5, 1, 2, 3, 4, 8)
    gt = [[10, 10, 30, 30]]
    samples = [
        make_sample(gt, [[10, 10, 30, 30], *far_boxes(20)], [0.9, *np.linspace(0.8, 0.1, 20)])
    ]
    metrics = evaluate(samples, protocol='mp3d')
    assert 'sens@3' in metrics
    assert 'sens@16' not in metrics
    assert metrics['avg_sens'] == pytest.approx(1.0)


def far_boxes(num: int) -> list[list[float]]:
    return [[400 + 12 * k, 400, 404 + 12 * k, 404] for k in range(num)]


def test_metric_protocol_changes_only_the_froc() -> None:
    # The hand-made curve above, as samples: mAP is the same under every protocol.
    samples = [
        make_sample([[10, 10, 30, 30]], [[100, 100, 110, 110], [10, 10, 30, 30]], [0.9, 0.8]),
        make_sample([[50, 50, 70, 70]], [[100, 100, 110, 110], [50, 50, 70, 70]], [0.7, 0.6]),
    ]
    default = evaluate(samples)
    mulan = evaluate(samples, protocol='mulan')
    assert mulan['mAP'] == default['mAP'] and mulan['AP50'] == default['AP50']
    assert (default['sens@0.5'], default['sens@1']) == (0.5, 1.0)
    assert (mulan['sens@0.5'], mulan['sens@1'], mulan['sens@16']) == (0.0, 0.5, 1.0)


def test_noisy_rows_are_refused_by_the_protocols_that_drop_them(mmengine_log) -> None:
    noisy = make_sample([[10, 10, 30, 30]], [[10, 10, 30, 30]], [0.9], possibly_noisy=True)
    clean = make_sample([[10, 10, 30, 30]], [[10, 10, 30, 30]], [0.9], possibly_noisy=False)
    unknown = make_sample([[10, 10, 30, 30]], [[10, 10, 30, 30]], [0.9])
    for name in ('3dce', 'mulan'):
        with pytest.raises(ValueError, match="noisy_lesions='drop'"):
            evaluate([clean, noisy], protocol=name)
    evaluate([noisy], protocol='mmlesion')  # kept as given
    evaluate([clean], protocol='3dce')
    assert not any('possibly_noisy' in m for m in mmengine_log)
    evaluate([unknown], protocol='3dce')
    assert any("no 'possibly_noisy' meta key" in m for m in mmengine_log)


def test_unknown_protocol_is_named() -> None:
    with pytest.raises(ValueError, match="'mulan'"):
        get_froc_protocol('mulan2')
    with pytest.raises(ValueError, match='protocol'):
        DeepLesionMetric(protocol='3DCE')


def test_every_preset_names_its_reference_file() -> None:
    for protocol in FROC_PROTOCOLS.values():
        assert '/' in protocol.reference and '.py' in protocol.reference
