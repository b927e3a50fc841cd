"""Plain functions over per-image numpy arrays: the DeepLesion FROC and COCO-style mAP."""

from .coco_map import coco_map
from .froc import box_overlaps, deeplesion_froc, deeplesion_froc_curve, read_froc_curve
from .froc_protocols import DEEPLESION_FPS, FROC_PROTOCOLS, FROCProtocol, get_froc_protocol
from .operating_point import OperatingPoint, froc_operating_points
from .weighted_slices import WeightedSliceMetrics

__all__ = [
    'DEEPLESION_FPS',
    'FROC_PROTOCOLS',
    'FROCProtocol',
    'OperatingPoint',
    'WeightedSliceMetrics',
    'box_overlaps',
    'coco_map',
    'deeplesion_froc',
    'deeplesion_froc_curve',
    'froc_operating_points',
    'get_froc_protocol',
    'read_froc_curve',
]
