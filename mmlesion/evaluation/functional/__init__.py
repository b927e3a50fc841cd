"""Plain functions over per-image numpy arrays: the DeepLesion FROC and COCO-style mAP."""

from .coco_map import coco_map
from .froc import DEEPLESION_FPS, box_overlaps, deeplesion_froc, deeplesion_froc_curve
from .weighted_slices import WeightedSliceMetrics

__all__ = [
    'DEEPLESION_FPS',
    'WeightedSliceMetrics',
    'box_overlaps',
    'coco_map',
    'deeplesion_froc',
    'deeplesion_froc_curve',
]
