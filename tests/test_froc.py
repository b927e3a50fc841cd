"""Tests of the DeepLesion FROC: hand-made cases and a brute-force oracle on random cases."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from mmlesion.evaluation.functional import (
    deeplesion_froc,
    deeplesion_froc_curve,
    get_froc_protocol,
    read_froc_curve,
)
from mmlesion.evaluation.functional.froc import box_overlaps

FPS = (0.5, 1, 2, 4, 8, 16)


def overlap_one(det: list[float], gt: list[float], mode: str) -> float:
    inter_w = max(0.0, min(det[2], gt[2]) - max(det[0], gt[0]))
    inter_h = max(0.0, min(det[3], gt[3]) - max(det[1], gt[1]))
    inter = inter_w * inter_h
    det_area = (det[2] - det[0]) * (det[3] - det[1])
    gt_area = (gt[2] - gt[0]) * (gt[3] - gt[1])
    denominator = det_area + gt_area - inter if mode == 'iou' else det_area
    return inter / denominator if denominator > 0 else 0.0


def brute_force_froc(det_boxes, det_scores, gt_boxes, fps, iou_thr, overlap='iou', gt_ignore=None):
    """The protocol written out with nested loops and textbook linear interpolation."""
    num_images = len(gt_boxes)
    if gt_ignore is None:
        gt_ignore = [[False] * len(gts) for gts in gt_boxes]
    num_lesions = sum(not flag for flags in gt_ignore for flag in flags)
    pooled = [
        (float(det_scores[i][j]), i, j) for i in range(num_images) for j in range(len(det_boxes[i]))
    ]
    pooled.sort(key=lambda item: (-item[0], item[1], item[2]))
    found = [[False] * len(gts) for gts in gt_boxes]
    num_found = num_fp = 0
    points = [(0.0, 0.0)]
    for _, i, j in pooled:
        det = [float(v) for v in det_boxes[i][j]]
        best_lesion = best_ignore = 0.0
        for k, gt in enumerate(gt_boxes[i]):
            value = overlap_one(det, [float(v) for v in gt], overlap)
            if gt_ignore[i][k]:
                best_ignore = max(best_ignore, value)
            else:
                best_lesion = max(best_lesion, value)
        if best_lesion < iou_thr:
            if best_ignore < iou_thr:
                num_fp += 1
        else:
            for k, gt in enumerate(gt_boxes[i]):
                value = overlap_one(det, [float(v) for v in gt], overlap)
                if not gt_ignore[i][k] and value >= iou_thr and not found[i][k]:
                    found[i][k] = True
                    num_found += 1
        points.append((num_fp / num_images, num_found / num_lesions if num_lesions else math.nan))

    result = []
    for rate in fps:
        if len(points) == 1 or num_lesions == 0 or rate > points[-1][0]:
            result.append(math.nan)
            continue
        # The last point at or below the rate; interpolate towards the next one.
        k = max(index for index, (x, _) in enumerate(points) if x <= rate)
        x0, y0 = points[k]
        if x0 == rate or k == len(points) - 1:
            result.append(y0)
        else:
            x1, y1 = points[k + 1]
            result.append(y0 + (y1 - y0) * (rate - x0) / (x1 - x0))
    return np.array(result)


def random_case(rng: np.random.Generator, integer_grid: bool):
    """A few images with lesions, detections near them (hits, misses, repeats) and false ones."""
    num_images = int(rng.integers(1, 7))
    det_boxes, det_scores, gt_boxes, gt_ignore = [], [], [], []
    for _ in range(num_images):
        num_gts = int(rng.integers(0, 5))
        corners = rng.uniform(0, 60, size=(num_gts, 2))
        sizes = rng.uniform(2, 20, size=(num_gts, 2))
        gts = np.hstack([corners, corners + sizes])
        num_near = int(rng.integers(0, 3 * num_gts + 1))
        near = gts[rng.integers(0, max(num_gts, 1), size=num_near)] if num_gts else np.zeros((0, 4))
        near = near + rng.normal(0, 1.5, size=near.shape)
        num_far = int(rng.integers(0, 5))
        far_corners = rng.uniform(0, 80, size=(num_far, 2))
        far = np.hstack([far_corners, far_corners + rng.uniform(1, 15, size=(num_far, 2))])
        dets = np.vstack([near, far])
        dets[:, 2:] = np.maximum(dets[:, 2:], dets[:, :2] + 0.5)
        scores = rng.uniform(0, 1, size=len(dets))
        if integer_grid:
            gts, dets, scores = np.round(gts), np.round(dets), np.round(scores, 1)
            dets[:, 2:] = np.maximum(dets[:, 2:], dets[:, :2] + 1)
        det_boxes.append(dets)
        det_scores.append(scores)
        gt_boxes.append(gts)
        gt_ignore.append(rng.uniform(size=num_gts) < 0.2)
    return det_boxes, det_scores, gt_boxes, gt_ignore


@pytest.mark.parametrize('overlap', ['iou', 'iobb'])
@pytest.mark.parametrize('integer_grid', [False, True], ids=['continuous', 'grid-with-ties'])
def test_matches_brute_force_on_random_cases(overlap: str, integer_grid: bool) -> None:
    rng = np.random.default_rng(0 if integer_grid else 1)
    fps = (0, 0.25, 0.5, 1, 1.5, 2, 4, 8, 16)
    for case in range(150):
        det_boxes, det_scores, gt_boxes, gt_ignore = random_case(rng, integer_grid)
        ignore = gt_ignore if case % 2 else None
        iou_thr = (0.5, 0.3, 0.7)[case % 3]
        expected = brute_force_froc(det_boxes, det_scores, gt_boxes, fps, iou_thr, overlap, ignore)
        actual = deeplesion_froc(
            det_boxes, det_scores, gt_boxes, fps, iou_thr=iou_thr, overlap=overlap, gt_ignore=ignore
        )
        np.testing.assert_allclose(actual, expected, equal_nan=True, err_msg=f'case {case}')


def test_all_predictions_wrong_give_zero_up_to_the_reached_rate() -> None:
    gt_boxes = [np.array([[0, 0, 10, 10]]), np.array([[20, 20, 30, 30]])]
    det_boxes = [np.array([[40, 40, 50, 50]] * 3), np.array([[0, 0, 5, 5]] * 2)]
    det_scores = [np.array([0.9, 0.8, 0.7]), np.array([0.95, 0.6])]
    sens = deeplesion_froc(det_boxes, det_scores, gt_boxes)  # 5 FPs over 2 images: 2.5 FP/image
    np.testing.assert_array_equal(sens, [0, 0, 0, np.nan, np.nan, np.nan])


def test_perfect_detector_without_false_positives_never_reaches_an_fp_rate() -> None:
    gt_boxes = [np.array([[0, 0, 10, 10], [20, 20, 30, 30]])]
    det_scores = [np.array([0.9, 0.8])]
    assert np.isnan(deeplesion_froc(gt_boxes, det_scores, gt_boxes)).all()
    # The rate 0 is reached: every lesion is found before the first false positive.
    np.testing.assert_array_equal(deeplesion_froc(gt_boxes, det_scores, gt_boxes, fps=(0,)), [1])


def test_perfect_detector_with_low_scored_false_positives() -> None:
    gt_boxes = [np.array([[0, 0, 10, 10]]), np.array([[20, 20, 30, 30]])]
    det_boxes = [np.array([[0, 0, 10, 10], [50, 50, 60, 60]]), np.array([[20, 20, 30, 30]])]
    det_scores = [np.array([0.9, 0.1]), np.array([0.8])]
    # One FP over two images: rates up to 0.5 are reached, with every lesion found.
    np.testing.assert_array_equal(
        deeplesion_froc(det_boxes, det_scores, gt_boxes),
        [1, np.nan, np.nan, np.nan, np.nan, np.nan],
    )


def test_image_without_prediction_counts_in_the_fp_rate_and_the_lesions() -> None:
    gt_boxes = [np.array([[0, 0, 10, 10]]), np.array([[20, 20, 30, 30]])]
    det_boxes = [np.array([[0, 0, 10, 10], [40, 40, 50, 50]]), np.zeros((0, 4))]
    det_scores = [np.array([0.9, 0.5]), np.zeros(0)]
    fp_per_image, sensitivity, thresholds = deeplesion_froc_curve(det_boxes, det_scores, gt_boxes)
    np.testing.assert_array_equal(fp_per_image, [0, 0.5])
    np.testing.assert_array_equal(sensitivity, [0.5, 0.5])
    np.testing.assert_array_equal(thresholds, [0.9, 0.5])


def test_image_without_lesion_contributes_only_false_positives() -> None:
    gt_boxes = [np.array([[0, 0, 10, 10]]), np.zeros((0, 4))]
    det_boxes = [np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 5, 9, 9]])]
    det_scores = [np.array([0.5]), np.array([0.9, 0.8])]
    fp_per_image, sensitivity, _ = deeplesion_froc_curve(det_boxes, det_scores, gt_boxes)
    np.testing.assert_array_equal(fp_per_image, [0.5, 1, 1])
    np.testing.assert_array_equal(sensitivity, [0, 0, 1])
    # At exactly 1 FP/image the curve rises from 0 to 1: the top is taken.
    np.testing.assert_array_equal(
        deeplesion_froc(det_boxes, det_scores, gt_boxes, (0.5, 1)), [0, 1]
    )


def test_repeat_hit_is_neither_and_one_detection_can_find_two_lesions() -> None:
    gt_boxes = [np.array([[0, 0, 10, 10], [0, 0, 10, 11], [50, 50, 60, 60]])]
    det_boxes = [np.array([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60], [80, 80, 90, 90]])]
    det_scores = [np.array([0.9, 0.8, 0.7, 0.6])]
    fp_per_image, sensitivity, _ = deeplesion_froc_curve(det_boxes, det_scores, gt_boxes)
    np.testing.assert_array_equal(fp_per_image, [0, 0, 0, 1])
    np.testing.assert_allclose(sensitivity, [2 / 3, 2 / 3, 1, 1])


def test_ignore_region_hit_is_neither_true_nor_false_positive() -> None:
    gt_boxes = [np.array([[0, 0, 10, 10], [50, 50, 60, 60]])]
    gt_ignore = [np.array([False, True])]
    det_boxes = [np.array([[50, 50, 60, 60], [0, 0, 10, 10], [80, 80, 90, 90]])]
    det_scores = [np.array([0.9, 0.8, 0.7])]
    fp_per_image, sensitivity, _ = deeplesion_froc_curve(
        det_boxes, det_scores, gt_boxes, gt_ignore=gt_ignore
    )
    np.testing.assert_array_equal(fp_per_image, [0, 0, 1])
    np.testing.assert_array_equal(sensitivity, [0, 1, 1])


def test_iobb_divides_by_the_detected_box() -> None:
    gt_boxes = [np.array([[0, 0, 20, 20]])]
    det_boxes = [np.array([[5, 5, 10, 10], [30, 30, 40, 40]])]  # inside: IoU 1/16, IoBB 1
    det_scores = [np.array([0.9, 0.1])]
    np.testing.assert_array_equal(box_overlaps(det_boxes[0], gt_boxes[0], 'iobb'), [[1], [0]])
    np.testing.assert_array_equal(box_overlaps(det_boxes[0], gt_boxes[0], 'iou'), [[1 / 16], [0]])
    assert deeplesion_froc(det_boxes, det_scores, gt_boxes, (1,), overlap='iobb')[0] == 1
    assert deeplesion_froc(det_boxes, det_scores, gt_boxes, (1,), overlap='iou')[0] == 0


def test_equal_scores_keep_the_given_order() -> None:
    gt_boxes = [np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10]])]
    det_boxes = [np.array([[40, 40, 50, 50]]), np.array([[0, 0, 10, 10]])]
    det_scores = [np.array([0.5]), np.array([0.5])]
    fp_per_image, sensitivity, _ = deeplesion_froc_curve(det_boxes, det_scores, gt_boxes)
    np.testing.assert_array_equal(fp_per_image, [0.5, 0.5])  # image 0's FP comes first
    np.testing.assert_array_equal(sensitivity, [0, 0.5])


def test_no_detection_or_no_lesion_gives_nan() -> None:
    gt_boxes = [np.array([[0, 0, 10, 10]])]
    assert np.isnan(deeplesion_froc([np.zeros((0, 4))], [np.zeros(0)], gt_boxes)).all()
    no_lesion = deeplesion_froc([np.array([[0, 0, 5, 5]])], [[0.3]], [np.zeros((0, 4))])
    assert np.isnan(no_lesion).all()
    assert np.isnan(deeplesion_froc([], [], [])).all()


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match='one entry per image'):
        deeplesion_froc([np.zeros((0, 4))], [], [np.zeros((0, 4))])
    with pytest.raises(ValueError, match=r'det_boxes\[0\] must have shape'):
        deeplesion_froc([np.zeros((2, 6))], [np.zeros(2)], [np.zeros((0, 4))])
    with pytest.raises(ValueError, match='overlap must be one of'):
        deeplesion_froc([np.zeros((0, 4))], [np.zeros(0)], [np.zeros((0, 4))], overlap='dice')


# -- values that would be scored silently: NaN / inf inputs, rates and thresholds ----------------
BOX = np.array([[0.0, 0.0, 10.0, 10.0]])


@pytest.mark.parametrize(
    ('dets', 'scores', 'gts', 'message'),
    [
        ([[np.nan, 0, 10, 10]], [0.9], BOX, r'det_boxes\[0\]\[0\] is \[nan, 0.0, 10.0, 10.0\]'),
        ([[0, 0, np.inf, 10]], [0.9], BOX, r'det_boxes\[0\]\[0\].*expected finite values'),
        (BOX, [np.nan], BOX, r'det_scores\[0\]\[0\] is nan'),
        (BOX, [-np.inf], BOX, r'det_scores\[0\]\[0\] is -inf'),
        (BOX, [0.9], [[0, np.nan, 10, 10]], r'gt_boxes\[0\]\[0\] is \[0.0, nan'),
        (BOX, [0.9], [[10, 0, 0, 10]], r'gt_boxes\[0\]\[0\].*x1 <= x2 and y1 <= y2'),
    ],
)
def test_non_finite_boxes_scores_and_flipped_lesions_are_refused(dets, scores, gts, message):
    # A second, valid image first: the message names the image at fault, not the first one.
    with pytest.raises(ValueError, match=message.replace(r'\[0\]\[0\]', r'\[1\]\[0\]')):
        deeplesion_froc([BOX, np.asarray(dets)], [[0.5], scores], [BOX, np.asarray(gts)])


@pytest.mark.parametrize('fps', [[math.nan], [1, math.inf], [-1]])
def test_fp_rates_must_be_finite_and_non_negative(fps):
    # With fps=[nan] every preset used to report a sensitivity of 1.0.
    with pytest.raises(ValueError, match='finite false-positive rates'):
        deeplesion_froc([BOX], [[0.9]], [BOX], fps=fps)
    with pytest.raises(ValueError, match='finite false-positive rates'):
        read_froc_curve(np.array([1.0]), np.array([1.0]), np.asarray(fps, float), 'step_top')


@pytest.mark.parametrize('iou_thr', [math.nan, 0.0, -0.5, 1.5])
def test_iou_threshold_must_lie_in_zero_one(iou_thr):
    with pytest.raises(ValueError, match=r'iou_thr must lie in \(0, 1\]'):
        deeplesion_froc([BOX], [[0.9]], [BOX], iou_thr=iou_thr)
    assert deeplesion_froc([BOX], [[0.9]], [BOX], fps=[0], iou_thr=1.0) == pytest.approx([1.0])


def test_a_custom_protocol_is_checked():
    nan_rates = replace(get_froc_protocol('mmlesion'), name='custom', fps=(math.nan,))
    with pytest.raises(ValueError, match=r'FROCProtocol\.fps'):
        deeplesion_froc([BOX], [[0.9]], [BOX], protocol=nan_rates)
    nan_offset = replace(get_froc_protocol('3dce'), name='custom', box_size_offset=math.nan)
    with pytest.raises(ValueError, match=r'FROCProtocol\.box_size_offset'):
        deeplesion_froc([BOX], [[0.9]], [BOX], protocol=nan_offset)


def test_a_zero_width_lesion_is_not_flipped():
    line = np.array([[5.0, 0.0, 5.0, 10.0]])
    # Overlap 0 with any box: a miss and a false positive, not an error.
    assert deeplesion_froc([BOX], [[0.9]], [line], fps=[1]) == pytest.approx([0.0])
