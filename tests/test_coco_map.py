"""Tests of the in-memory COCO mAP helper against a plain pycocotools evaluation."""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmlesion.evaluation.functional import coco_map


def xywh(box) -> list[float]:
    return [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])]


def reference_stats(det_boxes, det_scores, det_labels, gt_boxes, gt_labels, num_classes, **kw):
    """``COCOeval.stats[:3]`` the way a COCO user computes it: default params, ``loadRes``."""
    gt_ignore = kw.get('gt_ignore') or [np.zeros(len(b), bool) for b in gt_boxes]
    annotations = []
    for i, (boxes, labels, ignore) in enumerate(zip(gt_boxes, gt_labels, gt_ignore, strict=True)):
        for box, label, crowd in zip(boxes, labels, ignore, strict=True):
            bbox = xywh(box)
            annotations.append(
                {
                    'id': len(annotations) + 1,
                    'image_id': i,
                    'category_id': int(label) + 1,
                    'bbox': bbox,
                    'area': bbox[2] * bbox[3],
                    'iscrowd': int(crowd),
                }
            )
    results = [
        {'image_id': i, 'category_id': int(label) + 1, 'bbox': xywh(box), 'score': float(score)}
        for i, (boxes, scores, labels) in enumerate(
            zip(det_boxes, det_scores, det_labels, strict=True)
        )
        for box, score, label in zip(boxes, scores, labels, strict=True)
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {
            'images': [{'id': i, 'width': 128, 'height': 128} for i in range(len(gt_boxes))],
            'categories': [{'id': k + 1, 'name': str(k)} for k in range(num_classes)],
            'annotations': annotations,
        }
        gt.createIndex()
        evaluator = COCOeval(gt, gt.loadRes(results), 'bbox')
        if 'cat_ids' in kw:
            evaluator.params.catIds = kw['cat_ids']
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return [math.nan if value == -1 else value for value in evaluator.stats[:3]]


def random_case(rng: np.random.Generator, num_classes: int):
    num_images = int(rng.integers(2, 8))
    case = {key: [] for key in ('det_boxes', 'det_scores', 'det_labels', 'gt_boxes', 'gt_labels')}
    for i in range(num_images):
        num_gts = int(rng.integers(1 if i == 0 else 0, 5))
        corners = rng.uniform(0, 80, size=(num_gts, 2))
        gts = np.hstack([corners, corners + rng.uniform(3, 40, size=(num_gts, 2))])
        near = gts[rng.integers(0, max(num_gts, 1), size=2 * num_gts)] if num_gts else gts
        near = near + rng.normal(0, 2, size=near.shape)
        far_corners = rng.uniform(0, 100, size=(int(rng.integers(1, 6)), 2))
        far = np.hstack([far_corners, far_corners + rng.uniform(2, 30, size=far_corners.shape)])
        dets = np.vstack([near, far])
        dets[:, 2:] = np.maximum(dets[:, 2:], dets[:, :2] + 1)
        case['gt_boxes'].append(gts)
        case['gt_labels'].append(rng.integers(0, num_classes, size=num_gts))
        case['det_boxes'].append(dets)
        case['det_scores'].append(rng.uniform(size=len(dets)))
        case['det_labels'].append(rng.integers(0, num_classes, size=len(dets)))
    return case


@pytest.mark.parametrize('num_classes', [1, 3])
def test_matches_plain_cocoeval_on_random_cases(num_classes: int) -> None:
    rng = np.random.default_rng(num_classes)
    for case_index in range(15):
        case = random_case(rng, num_classes)
        expected = reference_stats(**case, num_classes=num_classes)
        # Size ranges change the other rows of COCOeval, never the 'all' one.
        sizes = {'gt_sizes': [rng.uniform(0, 50, len(b)) for b in case['gt_boxes']]}
        sizes['det_sizes'] = [rng.uniform(0, 50, len(b)) for b in case['det_boxes']]
        for extra in ({}, {**sizes, 'size_ranges': {'small': (0, 10), 'large': (10, 50)}}):
            result = coco_map(**case, num_classes=num_classes, classwise=True, **extra)
            actual = [result['mAP'], result['AP50'], result['AP75']]
            np.testing.assert_allclose(actual, expected, equal_nan=True, err_msg=str(case_index))
        for k in range(num_classes):
            expected_k = reference_stats(**case, num_classes=num_classes, cat_ids=[k + 1])[0]
            np.testing.assert_allclose(result['per_class_AP'][k], expected_k, equal_nan=True)


def test_ignore_regions_match_plain_cocoeval_crowd_boxes() -> None:
    rng = np.random.default_rng(7)
    for _ in range(5):
        case = random_case(rng, 1)
        gt_ignore = [rng.uniform(size=len(b)) < 0.3 for b in case['gt_boxes']]
        gt_ignore[0][0] = False  # at least one real lesion
        expected = reference_stats(**case, num_classes=1, gt_ignore=gt_ignore)
        result = coco_map(**case, gt_ignore=gt_ignore)
        np.testing.assert_allclose([result['mAP'], result['AP50'], result['AP75']], expected)


def test_size_ranges_score_each_bucket_on_its_own() -> None:
    gt_boxes = [np.array([[0, 0, 5, 5], [20, 20, 60, 60]]), np.array([[0, 0, 8, 8]])]
    gt_labels = [np.zeros(2, int), np.zeros(1, int)]
    det_boxes = [np.array([[20, 20, 60, 60], [70, 70, 72, 72]]), np.zeros((0, 4))]
    det_scores = [np.array([0.9, 0.8]), np.zeros(0)]
    det_labels = [np.zeros(2, int), np.zeros(0, int)]
    result = coco_map(
        det_boxes, det_scores, det_labels, gt_boxes, gt_labels,
        gt_sizes=[np.array([5.0, 40.0]), np.array([8.0])],
        det_sizes=[np.array([40.0, 2.0]), np.zeros(0)],
        size_ranges={'small': (0, 10), 'medium': (10, 30), 'large': (30, math.inf)},
    )  # fmt: skip
    assert result['mAP_large'] == pytest.approx(1.0)
    assert result['mAP_small'] == 0.0
    assert math.isnan(result['mAP_medium'])
    # The small false positive is ignored in the large bucket, not in 'all'.
    assert result['mAP'] == pytest.approx(1 / 3, abs=0.01)


def test_empty_inputs() -> None:
    gt_boxes = [np.array([[0, 0, 10, 10]]), np.zeros((0, 4))]
    gt_labels = [np.zeros(1, int), np.zeros(0, int)]
    no_dets = ([np.zeros((0, 4))] * 2, [np.zeros(0)] * 2, [np.zeros(0, int)] * 2)
    assert coco_map(*no_dets, gt_boxes, gt_labels) == {'mAP': 0.0, 'AP50': 0.0, 'AP75': 0.0}
    result = coco_map(*no_dets, [np.zeros((0, 4))] * 2, [np.zeros(0, int)] * 2)
    assert all(math.isnan(value) for value in result.values())


def test_accepts_torch_tensors() -> None:
    torch = pytest.importorskip('torch')
    box = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    result = coco_map([box], [torch.tensor([0.5])], [torch.tensor([0])], [box], [torch.tensor([0])])
    assert result['mAP'] == pytest.approx(1.0)


def test_inputs_are_checked() -> None:
    box = [np.array([[0.0, 0.0, 10.0, 10.0]])]
    with pytest.raises(ValueError, match='one entry per image'):
        coco_map(box, [np.ones(1)], [np.zeros(1, int)], box * 2, [np.zeros(1, int)] * 2)
    with pytest.raises(ValueError, match='one per box'):
        coco_map(box, [np.ones(2)], [np.zeros(1, int)], box, [np.zeros(1, int)])
    with pytest.raises(ValueError, match='labels must lie in'):
        coco_map(box, [np.ones(1)], [np.array([3])], box, [np.zeros(1, int)], num_classes=2)


def test_a_nan_detection_is_refused_instead_of_scoring_one() -> None:
    # pycocotools matched a NaN box to the lesion: mAP = AP50 = 1.0.
    box = [np.array([[0.0, 0.0, 10.0, 10.0]])]
    label = [np.zeros(1, int)]
    with pytest.raises(ValueError, match=r'det_boxes\[0\]\[0\] is \[nan, nan, nan, nan\]'):
        coco_map([np.full((1, 4), np.nan)], [np.ones(1)], label, box, label)
    with pytest.raises(ValueError, match=r'det_scores\[0\]\[0\] is nan'):
        coco_map(box, [np.array([np.nan])], label, box, label)
    with pytest.raises(ValueError, match=r'gt_boxes\[0\]\[0\].*x1 <= x2'):
        coco_map(box, [np.ones(1)], label, [np.array([[10.0, 0.0, 0.0, 10.0]])], label)
    with pytest.raises(ValueError, match=r'gt_sizes\[0\]\[0\] is nan: expected no NaN'):
        coco_map(box, [np.ones(1)], label, box, label, gt_sizes=[np.array([np.nan])])
    # An infinite size is a size (the last range reaches infinity).
    result = coco_map(box, [np.ones(1)], label, box, label, gt_sizes=[np.array([np.inf])])
    assert result['mAP'] == pytest.approx(1.0)
