"""Tests of ``DeepLesionMetric`` on hand-built ``DetDataSample``\\ s."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from mmdet.registry import METRICS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.structures import InstanceData
from test_coco_map import random_case, reference_stats

from mmlesion.datasets.dl_info import COARSE_LESION_TYPES
from mmlesion.evaluation import DeepLesionMetric, coco_map, deeplesion_froc
from mmlesion.evaluation.metrics import deeplesion_metric

FROC_KEYS = ['sens@0.5', 'sens@1', 'sens@2', 'sens@4', 'sens@8', 'sens@16', 'avg_sens']
LIVER_KEYS = ['liver_mAP', 'liver_AP50', 'liver_avg_sens']


def make_sample(gt_boxes, pred_boxes=(), pred_scores=(), gt_labels=None, pred_labels=None, **meta):
    """A ``DetDataSample`` with float32 boxes as a detector produces them; labels default to 0."""
    gt_boxes = torch.as_tensor(np.asarray(gt_boxes, np.float32).reshape(-1, 4))
    pred_boxes = torch.as_tensor(np.asarray(pred_boxes, np.float32).reshape(-1, 4))
    sample = DetDataSample(metainfo=meta)
    sample.gt_instances = InstanceData(
        bboxes=gt_boxes,
        labels=torch.as_tensor(np.zeros(len(gt_boxes)) if gt_labels is None else gt_labels).long(),
    )
    sample.pred_instances = InstanceData(
        bboxes=pred_boxes,
        scores=torch.as_tensor(np.asarray(pred_scores, np.float32)),
        labels=torch.as_tensor(
            np.zeros(len(pred_boxes)) if pred_labels is None else pred_labels
        ).long(),
    )
    return sample


def evaluate(samples, classes=('lesion',), **kwargs) -> dict[str, float]:
    metric = DeepLesionMetric(**kwargs)
    metric.dataset_meta = {'classes': classes}
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def far_boxes(num: int, offset: float = 400) -> np.ndarray:
    """``num`` small boxes far from every lesion of these tests: certain false positives."""
    corners = offset + 12 * np.arange(num, dtype=np.float64)[:, None].repeat(2, axis=1)
    return np.hstack([corners, corners + 4])


def test_builds_from_the_registry_and_prefixes_keys() -> None:
    metric = METRICS.build(dict(type='DeepLesionMetric', iou_thr=0.5, overlap='iobb'))
    assert isinstance(metric, DeepLesionMetric)
    metric.dataset_meta = {'classes': ('lesion',)}
    box = [[10, 10, 30, 30]]
    metric.process({}, [make_sample(box, box, [0.9]).to_dict()])  # as the evaluator passes them
    metrics = metric.evaluate(1)
    assert metrics['deeplesion/mAP'] == pytest.approx(1.0)
    keys = ['mAP', 'AP50', 'AP75', 'mAP_small', 'mAP_medium', 'mAP_large', *FROC_KEYS, *LIVER_KEYS]
    assert set(metrics) == {f'deeplesion/{key}' for key in keys}
    assert metric.results == []


@pytest.mark.parametrize('num_classes', [1, 3])
def test_map_matches_plain_cocoeval(num_classes: int) -> None:
    rng = np.random.default_rng(10 + num_classes)
    classes = tuple(f'class{k}' for k in range(num_classes))
    for _ in range(8):
        case = random_case(rng, num_classes)
        case = {k: [np.asarray(v, np.float32) for v in vs] for k, vs in case.items()}
        samples = [
            make_sample(gt, det, score, gt_label, det_label, spacing_mm=(0.7, 0.7, 5.0))
            for det, score, det_label, gt, gt_label in zip(*case.values(), strict=True)
        ]
        metrics = evaluate(samples, classes)
        expected = reference_stats(**case, num_classes=num_classes)
        np.testing.assert_allclose([metrics['mAP'], metrics['AP50'], metrics['AP75']], expected)
        for k, name in enumerate(classes if num_classes > 1 else ()):
            expected_k = reference_stats(**case, num_classes=num_classes, cat_ids=[k + 1])[0]
            np.testing.assert_allclose(metrics[f'AP_{name}'], expected_k, equal_nan=True)
        fps = (0.5, 1, 2, 4, 8, 16)
        sens = deeplesion_froc(case['det_boxes'], case['det_scores'], case['gt_boxes'], fps)
        np.testing.assert_allclose([metrics[f'sens@{fp:g}'] for fp in fps], sens, equal_nan=True)
        np.testing.assert_allclose(metrics['avg_sens'], np.mean(sens[:4]), equal_nan=True)


def test_perfect_detector_scores_one_everywhere() -> None:
    # Lesions of 5, 20 and 40 px at 1 mm/px: one per size bucket; one liver lesion.
    gts = [[[0, 0, 5, 5], [50, 50, 70, 60]], [[100, 100, 140, 130]]]
    types = [[4, 5], [1]]
    samples = [
        make_sample(
            gt,
            np.vstack([gt, far_boxes(16)]),  # then 16 low-scored false positives per image
            np.r_[np.ones(len(gt)), np.full(16, 0.1)],
            lesion_types=lesion_types,
            spacing_mm=(1.0, 1.0, 2.5),
        )
        for gt, lesion_types in zip(gts, types, strict=True)
    ]
    metrics = evaluate(samples)
    assert metrics == pytest.approx(dict.fromkeys(metrics, 1.0))


def test_size_buckets_use_the_recist_diameter_in_mm() -> None:
    # Boxes of 40 px at 0.5 mm/px: 20 mm by the box, but the RECIST diameters say otherwise.
    gt = np.array([[0, 0, 40, 40], [100, 0, 140, 40], [200, 0, 240, 40], [300, 0, 340, 40.0]])
    sample = make_sample(
        gt,
        gt[2:],  # finds only the two large lesions
        [0.9, 0.8],
        lesion_diameters_mm=np.array([[4.0, 2.0], [10.0, 6.0], [30.0, 20.0], [45.0, 30.0]]),
        spacing_mm=(0.5, 0.5, 1.0),
    )
    metrics = evaluate([sample])
    # A diameter of exactly 10 mm is medium, of exactly 30 mm large.
    assert metrics['mAP_small'] == 0.0
    assert metrics['mAP_medium'] == 0.0
    assert metrics['mAP_large'] == pytest.approx(1.0)
    expected = coco_map([gt[2:]], [[0.9, 0.8]], [[0, 0]], [gt], [[0] * 4])
    assert metrics['mAP'] == pytest.approx(expected['mAP'])


def test_size_buckets_fall_back_to_box_sides_and_warn_once(monkeypatch) -> None:
    gt = np.array([[0, 0, 8, 4], [100, 100, 150, 110]])  # long sides 8 and 50 px
    sample_px = make_sample(gt, gt[1:], [0.9])
    sample_mm = make_sample(gt, gt[1:], [0.9], spacing_mm=(2.0, 2.0, 1.0))  # 16 and 100 mm
    warnings = []
    monkeypatch.setattr(deeplesion_metric, 'print_log', lambda msg, **_: warnings.append(msg))
    metric = DeepLesionMetric()
    metric.process({}, [sample_px])
    first = metric.compute_metrics(metric.results)
    metric.compute_metrics(metric.results)
    assert len(warnings) == 1 and 'no spacing_mm' in warnings[0]
    assert (first['mAP_small'], first['mAP_large']) == (0.0, pytest.approx(1.0))
    in_mm = evaluate([sample_mm])
    assert (in_mm['mAP_medium'], in_mm['mAP_large']) == (0.0, pytest.approx(1.0))
    assert math.isnan(in_mm['mAP_small'])


def test_liver_subset_ignores_other_lesions_on_liver_images() -> None:
    liver, kidney, lung = [0, 0, 20, 20], [100, 100, 130, 130], [200, 200, 230, 230]
    samples = [
        # A liver image: the kidney lesion is an ignore region, hitting it costs nothing.
        make_sample([liver, kidney], [kidney, liver], [0.9, 0.8], lesion_types=[4, 6]),
        # No liver lesion: not in the subset, its false positive does not count.
        make_sample([lung], far_boxes(1), [0.95], lesion_types=[5]),
        make_sample([liver], [liver, *far_boxes(8)], [0.7, *[0.1] * 8], lesion_types=[4]),
    ]
    metrics = evaluate(samples)
    assert metrics['liver_mAP'] == pytest.approx(1.0)
    assert metrics['liver_AP50'] == pytest.approx(1.0)
    # Liver FROC over 2 images: both liver lesions found before the 8 FPs (4 per image).
    assert metrics['liver_avg_sens'] == 1.0
    sens = deeplesion_froc(
        [np.array([kidney, liver]), np.vstack([liver, far_boxes(8)])],
        [[0.9, 0.8], [0.7, *[0.1] * 8]],
        [np.array([liver, kidney]), np.array([liver])],
        fps=(0.5, 1, 2, 4),
        gt_ignore=[[False, True], [False]],
    )
    np.testing.assert_allclose(metrics['liver_avg_sens'], np.mean(sens), equal_nan=True)
    assert metrics['mAP'] < 1.0


def test_liver_from_class_labels_in_coarse_type_mode() -> None:
    liver_label = COARSE_LESION_TYPES.index('liver')
    box, other = [0, 0, 20, 20], [100, 100, 130, 130]
    sample = make_sample(
        [box, other], [box], [0.9], gt_labels=[liver_label, 0], pred_labels=[liver_label]
    )
    metrics = evaluate([sample], COARSE_LESION_TYPES)
    assert metrics['liver_mAP'] == pytest.approx(1.0)
    assert metrics['AP_liver'] == pytest.approx(1.0)
    assert metrics['AP_bone'] == 0.0
    assert math.isnan(metrics['AP_lung'])
    assert {f'AP_{name}' for name in COARSE_LESION_TYPES} <= set(metrics)


def test_liver_keys_are_nan_without_liver_lesions() -> None:
    box = [[0, 0, 20, 20]]
    for meta in ({}, {'lesion_types': [5]}):
        metrics = evaluate([make_sample(box, box, [0.9], **meta)])
        assert all(math.isnan(metrics[key]) for key in LIVER_KEYS)


def test_images_without_prediction_or_lesion() -> None:
    lesion = [[0, 0, 20, 20]]
    samples = [
        make_sample(lesion, lesion, [0.9]),
        make_sample(lesion),  # missed: no prediction at all
        make_sample([], far_boxes(2), [0.8, 0.3]),  # no lesion: two false positives
    ]
    metrics = evaluate(samples)
    expected = coco_map(
        [np.array(lesion), np.zeros((0, 4)), far_boxes(2)],
        [[0.9], [], [0.8, 0.3]],
        [[0], [], [0, 0]],
        [np.array(lesion), np.array(lesion), np.zeros((0, 4))],
        [[0], [0], []],
    )
    assert metrics['mAP'] == pytest.approx(expected['mAP'])
    # Curve: (0, 1/2) then FPs at 1/3 and 2/3 per image.
    assert metrics['sens@0.5'] == 0.5
    assert math.isnan(metrics['sens@1'])
    assert math.isnan(metrics['avg_sens'])


def test_no_predictions_at_all_and_all_predictions_wrong() -> None:
    lesion = [[0, 0, 20, 20]]
    empty = evaluate([make_sample(lesion), make_sample(lesion)])
    assert (empty['mAP'], empty['AP50']) == (0.0, 0.0)
    assert all(math.isnan(empty[key]) for key in FROC_KEYS)

    wrong = evaluate([make_sample(lesion, far_boxes(3), [0.9, 0.5, 0.1])])
    assert (wrong['mAP'], wrong['AP50'], wrong['mAP_medium']) == (0.0, 0.0, 0.0)
    assert [wrong[key] for key in FROC_KEYS[:3]] == [0.0, 0.0, 0.0]
    assert all(math.isnan(wrong[key]) for key in FROC_KEYS[3:])


def test_ignored_instances_and_horizontal_boxes() -> None:
    lesion, ignored = [[0, 0, 20, 20]], [[100, 100, 140, 140]]
    sample = make_sample(
        lesion, [ignored[0], lesion[0]], [0.9, 0.8], lesion_types=[4], lesion_diameters_mm=[np.nan]
    )
    sample.gt_instances.bboxes = HorizontalBoxes(sample.gt_instances.bboxes)
    sample.ignored_instances = InstanceData(
        bboxes=torch.tensor(ignored, dtype=torch.float32), labels=torch.zeros(1).long()
    )
    metrics = evaluate([sample])
    # The unknown diameter falls back to the box: 20 px, medium.
    for key in ('mAP', 'mAP_medium', 'liver_mAP'):
        assert metrics[key] == pytest.approx(1.0)
    assert math.isnan(metrics['sens@0.5'])  # the hit on the ignore region is no false positive


def test_metainfo_must_align_with_gt_instances() -> None:
    with pytest.raises(ValueError, match='lesion_types must have one entry per gt_instances'):
        DeepLesionMetric().process({}, [make_sample([[0, 0, 5, 5]], lesion_types=[4, 5])])
    with pytest.raises(ValueError, match='size_thresholds_mm'):
        DeepLesionMetric(size_thresholds_mm=(30, 10))


@pytest.mark.parametrize(
    ('pred_box', 'score', 'message'),
    [
        ([math.nan] * 4, 0.9, r'predicted box 0 is \[nan, nan, nan, nan\]'),
        ([0, 0, 10, 10], math.nan, r'predicted score 0 is nan'),
        ([0, 0, math.inf, 10], 0.9, r'predicted box 0 is \[0.0, 0.0, inf, 10.0\]'),
    ],
)
def test_a_nan_prediction_is_refused_naming_its_image(pred_box, score, message) -> None:
    # A NaN box against a real lesion scored mAP = AP50 = liver mAP = 1.0 and would have been
    # selected as the best checkpoint: a diverged model is an error, named by its image.
    sample = make_sample([[0, 0, 10, 10]], [pred_box], [score], img_path='a/b/003.png')
    with pytest.raises(ValueError, match=rf'DeepLesionMetric: a/b/003\.png: {message}'):
        evaluate([sample])


def test_a_flipped_lesion_is_refused_naming_its_image() -> None:
    sample = make_sample([[10, 0, 0, 10]], [[0, 0, 10, 10]], [0.9], img_path='s/001.png')
    with pytest.raises(ValueError, match=r's/001\.png: ground-truth box 0 .*x1 <= x2'):
        evaluate([sample])


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'iou_thr': math.nan}, r'iou_thr must lie in \(0, 1\]'),
        ({'iou_thr': 1.5}, r'iou_thr must lie in \(0, 1\]'),
        ({'fps': [math.nan]}, 'fps must be finite'),
        ({'avg_sens_fps': [1, -1]}, 'avg_sens_fps must be finite'),
    ],
)
def test_thresholds_and_rates_are_checked_when_built(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        DeepLesionMetric(**kwargs)


def test_unknown_spacing_falls_back_to_pixel_sizes() -> None:
    sample = make_sample(
        [[0, 0, 20, 20]], [[0, 0, 20, 20]], [0.9], spacing_mm=(math.nan, math.nan, math.nan)
    )
    metrics = evaluate([sample], size_thresholds_mm=(10, 30))
    assert metrics['mAP_medium'] == pytest.approx(1.0)  # 20 px, not NaN mm
