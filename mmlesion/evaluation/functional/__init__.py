"""Plain functions over per-image numpy arrays: the DeepLesion FROC and COCO-style mAP."""

from .coco_map import coco_map
from .froc import box_overlaps, deeplesion_froc, deeplesion_froc_curve, read_froc_curve
from .froc_protocols import DEEPLESION_FPS, FROC_PROTOCOLS, FROCProtocol, get_froc_protocol

__all__ = [
    'DEEPLESION_FPS',
    'FROC_PROTOCOLS',
    'FROCProtocol',
    'box_overlaps',
    'coco_map',
    'deeplesion_froc',
    'deeplesion_froc_curve',
    'get_froc_protocol',
    'read_froc_curve',
]
