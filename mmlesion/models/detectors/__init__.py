from .batch_map import batch_map
from .frozen_detector_enhancer import FrozenDetectorEnhancer

__all__ = ['FrozenDetectorEnhancer', 'batch_map']
