from .data_preprocessors import AdaptiveCLAHEPreprocessor, PolicyEnhancementPreprocessor
from .detectors import FrozenDetectorEnhancer
from .layers import GatherRoIAlign, gather_roi_align
from .losses import expected_setting_loss
from .regressors import CLAHEParamRegressor, SettingPolicy
from .roi_extractors import RegisteredLayerRoIExtractor
from .test_time_augs import ShiftFlipTTAModel

__all__ = [
    'AdaptiveCLAHEPreprocessor',
    'CLAHEParamRegressor',
    'FrozenDetectorEnhancer',
    'GatherRoIAlign',
    'PolicyEnhancementPreprocessor',
    'RegisteredLayerRoIExtractor',
    'SettingPolicy',
    'ShiftFlipTTAModel',
    'expected_setting_loss',
    'gather_roi_align',
]
