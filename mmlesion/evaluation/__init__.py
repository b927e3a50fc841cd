"""Evaluation: the DeepLesion FROC and COCO mAP as functions, and the registered metric."""

from .dumped_predictions import RescoredPredictions, deeplesion_metric_kwargs, rescore_predictions
from .functional import (
    DEEPLESION_FPS,
    FROC_PROTOCOLS,
    FROCProtocol,
    OperatingPoint,
    box_overlaps,
    coco_map,
    deeplesion_froc,
    deeplesion_froc_curve,
    froc_operating_points,
    get_froc_protocol,
)
from .metrics import DeepLesionMetric
from .paired_bootstrap import paired_bootstrap, pooled_paired_bootstrap
from .subset_evaluation import evaluate_subsets, slice_records

__all__ = [
    'DEEPLESION_FPS',
    'FROC_PROTOCOLS',
    'DeepLesionMetric',
    'FROCProtocol',
    'OperatingPoint',
    'RescoredPredictions',
    'box_overlaps',
    'coco_map',
    'deeplesion_froc',
    'deeplesion_froc_curve',
    'deeplesion_metric_kwargs',
    'evaluate_subsets',
    'froc_operating_points',
    'get_froc_protocol',
    'paired_bootstrap',
    'pooled_paired_bootstrap',
    'rescore_predictions',
    'slice_records',
]
