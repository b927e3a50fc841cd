"""Per-lesion outcomes at an operating point, grouped by size and by a per-slice attribute."""

import math

import numpy as np
import pytest

from mmlesion.evaluation.lesion_breakdown import (
    by_slice_attribute,
    group_outcomes,
    lesion_outcomes,
    score_at_fp_rate,
    scored_lesion_values,
    signal_to_noise,
    size_buckets,
)


def record(gts, preds, scores, diameters, img_id, types=None):
    gts = np.array(gts, dtype=float).reshape(-1, 4)
    return {
        'gt_bboxes': gts,
        'gt_ignore': np.zeros(len(gts), bool),
        'pred_bboxes': np.array(preds, dtype=float).reshape(-1, 4),
        'pred_scores': np.array(scores, dtype=float),
        'lesion_diameters_mm': np.array(diameters, dtype=float),
        'lesion_types': np.array(types if types is not None else [-1] * len(gts)),
        'img_id': img_id,
    }


@pytest.fixture
def records():
    return [
        # a large lesion found exactly at 0.9; a false positive at 0.8
        record([[10, 10, 50, 50]], [[10, 10, 50, 50], [100, 100, 120, 120]], [0.9, 0.8], [40], 'a'),
        # a small lesion boxed twice too wide (IoU 0.5 exactly: found) at 0.3, and a small
        # lesion only hit at IoU 0.25 (never found)
        record(
            [[0, 0, 10, 10], [60, 60, 70, 70]],
            [[0, 0, 20, 10], [60, 60, 80, 80]],
            [0.3, 0.7],
            [8, 8],
            'b',
            types=[4, 5],
        ),
    ]


def test_threshold_allows_the_asked_false_positives_per_image(records):
    # false positives in score order: 0.8 (first), 0.7 (second)
    assert score_at_fp_rate(records, 0.5) == pytest.approx(0.8)  # one FP over two images
    assert score_at_fp_rate(records, 1.0) == pytest.approx(0.3)  # both FPs allowed
    assert score_at_fp_rate(records, 0.0) == pytest.approx(0.9)


def test_outcomes_separate_found_overlapped_and_loosely_boxed(records):
    strict = lesion_outcomes(records, score_thr=0.5)
    assert [o.found for o in strict] == [True, False, False]
    assert [o.best_iou for o in strict] == pytest.approx([1.0, 0.5, 0.25])
    assert strict[1].width_ratio == pytest.approx(2.0)
    assert strict[1].height_ratio == pytest.approx(1.0)
    assert strict[2].centre_offset == pytest.approx(math.hypot(5, 5) / math.hypot(10, 10))
    loose = lesion_outcomes(records, score_thr=0.3)
    assert [o.found for o in loose] == [True, True, False]
    assert [o.lesion_type for o in loose] == [-1, 4, 5]


def test_groups_by_size_in_size_order(records):
    key, names = size_buckets([10, 30])
    assert names == ['<10 mm', '10-30 mm', '>=30 mm']
    groups = group_outcomes(lesion_outcomes(records, 0.3), key, order=names)
    assert list(groups) == ['<10 mm', '>=30 mm']  # no lesion of 10-30 mm
    small = groups['<10 mm']
    assert small['num_lesions'] == 2
    assert small['sensitivity'] == pytest.approx(0.5)
    assert small['overlapped'] == pytest.approx(0.5)
    assert small['median_area_ratio'] == pytest.approx((2.0 + 4.0) / 2)


def test_groups_by_the_box_long_side_in_pixels(records):
    # the boxes are 40 px (found at 0.3), 10 px (found) and 10 px (missed) long, whatever their
    # diameters in mm: the pixel size is what the detector sees
    outcomes = lesion_outcomes(records, 0.3)
    assert [o.long_side_px for o in outcomes] == [40.0, 10.0, 10.0]
    key, names = size_buckets([6, 10, 16], 'long_side_px', 'px')
    assert names == ['<6 px', '6-10 px', '10-16 px', '>=16 px']
    groups = group_outcomes(outcomes, key, order=names)
    assert list(groups) == ['10-16 px', '>=16 px']  # a bucket holds its lower edge
    assert groups['10-16 px']['num_lesions'] == 2
    assert groups['10-16 px']['sensitivity'] == pytest.approx(0.5)
    assert groups['>=16 px']['sensitivity'] == pytest.approx(1.0)


def test_groups_by_a_slice_or_per_lesion_attribute(records):
    outcomes = lesion_outcomes(records, 0.3)
    by_profile = group_outcomes(outcomes, by_slice_attribute(records, {'a': 'clean', 'b': 'noisy'}))
    assert {k: v['num_lesions'] for k, v in by_profile.items()} == {'clean': 1, 'noisy': 2}
    per_lesion = {'a': ['high'], 'b': ['high', 'low']}
    by_contrast = group_outcomes(outcomes, by_slice_attribute(records, per_lesion))
    assert by_contrast['high']['sensitivity'] == pytest.approx(1.0)
    assert by_contrast['low']['sensitivity'] == 0.0


def test_per_lesion_values_skip_ignore_regions_in_row_order(records):
    records[1]['gt_bboxes'] = np.array([[0, 0, 10, 10], [30, 30, 40, 40], [60, 60, 70, 70]], float)
    records[1]['gt_ignore'] = np.array([False, True, False])  # the second row is ignored
    scored = scored_lesion_values(records, {'b': [5.0, -7.0, 9.0], 'c': [1.0]})
    assert list(scored) == ['b']  # slice 'a' has no values; 'c' has no record
    assert [value for value, _ in scored['b']] == [5.0, 9.0]
    np.testing.assert_array_equal(scored['b'][1][1], [60, 60, 70, 70])


def test_signal_to_noise_is_contrast_times_root_area_over_noise():
    box = [0.0, 0.0, 8.0, 2.0]  # an ellipse of area 4 pi px^2
    assert signal_to_noise(-30.0, 10.0, box) == pytest.approx(3.0 * 2.0 * math.sqrt(math.pi))
    assert signal_to_noise(30.0, 10.0, [5.0, 5.0, 5.0, 9.0]) == 0.0  # an empty box


@pytest.mark.parametrize('edges', [[], [10, 5], [0, 10]])
def test_bad_size_edges_are_refused(edges):
    with pytest.raises(ValueError):
        size_buckets(edges)
