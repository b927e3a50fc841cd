"""COCO mAP of one batch of predicted data samples, for the enhancer's training signal."""

from __future__ import annotations

import math

from mmdet.structures import DetDataSample

from mmlesion.evaluation.functional import coco_map


def batch_coco_map(samples: list[DetDataSample]) -> float:
    """COCO mAP@[.5:.95] in [0, 1] of ``samples``' ``pred_instances`` against their
    ``gt_instances`` (both in the same coordinates). 0 when the batch holds no lesion."""
    det_boxes, det_scores, det_labels, gt_boxes, gt_labels = [], [], [], [], []
    for sample in samples:
        det_boxes.append(sample.pred_instances.bboxes)
        det_scores.append(sample.pred_instances.scores)
        det_labels.append(sample.pred_instances.labels)
        gt_boxes.append(sample.gt_instances.bboxes)
        gt_labels.append(sample.gt_instances.labels)
    value = coco_map(det_boxes, det_scores, det_labels, gt_boxes, gt_labels)['mAP']
    return 0.0 if math.isnan(value) else float(value)
