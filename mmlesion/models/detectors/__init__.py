from .batch_coco_map import batch_coco_map
from .frozen_detector_enhancer import FrozenDetectorEnhancer

__all__ = ['FrozenDetectorEnhancer', 'batch_coco_map']
