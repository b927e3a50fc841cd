"""Evaluation: the DeepLesion FROC and COCO mAP as functions, and the registered metric."""

from .functional import (
    DEEPLESION_FPS,
    box_overlaps,
    coco_map,
    deeplesion_froc,
    deeplesion_froc_curve,
)
from .metrics import DeepLesionMetric
from .paired_bootstrap import paired_bootstrap
from .subset_evaluation import evaluate_subsets, slice_records

__all__ = [
    'DEEPLESION_FPS',
    'DeepLesionMetric',
    'box_overlaps',
    'coco_map',
    'deeplesion_froc',
    'deeplesion_froc_curve',
    'evaluate_subsets',
    'paired_bootstrap',
    'slice_records',
]
