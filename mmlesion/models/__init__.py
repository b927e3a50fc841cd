from .data_preprocessors import AdaptiveCLAHEPreprocessor
from .detectors import FrozenDetectorEnhancer
from .layers import GatherRoIAlign, gather_roi_align
from .regressors import CLAHEParamRegressor
from .roi_extractors import RegisteredLayerRoIExtractor

__all__ = [
    'AdaptiveCLAHEPreprocessor',
    'CLAHEParamRegressor',
    'FrozenDetectorEnhancer',
    'GatherRoIAlign',
    'RegisteredLayerRoIExtractor',
    'gather_roi_align',
]
