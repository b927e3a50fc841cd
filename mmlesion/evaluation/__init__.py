"""Evaluation: the DeepLesion FROC and COCO mAP as functions, and the registered metric."""

from .functional import (
    DEEPLESION_FPS,
    FROC_PROTOCOLS,
    FROCProtocol,
    box_overlaps,
    coco_map,
    deeplesion_froc,
    deeplesion_froc_curve,
    get_froc_protocol,
)
from .metrics import DeepLesionMetric
from .paired_bootstrap import paired_bootstrap
from .subset_evaluation import evaluate_subsets, slice_records

__all__ = [
    'DEEPLESION_FPS',
    'FROC_PROTOCOLS',
    'DeepLesionMetric',
    'FROCProtocol',
    'box_overlaps',
    'coco_map',
    'deeplesion_froc',
    'deeplesion_froc_curve',
    'evaluate_subsets',
    'get_froc_protocol',
    'paired_bootstrap',
    'slice_records',
]
