from .data_preprocessors import (
    AdaptiveCLAHEPreprocessor,
    PolicyEnhancementPreprocessor,
    WindowDenoisePreprocessor,
)
from .detectors import FrozenDetectorEnhancer
from .layers import GatherRoIAlign, gather_roi_align
from .losses import expected_setting_loss
from .regressors import CLAHEParamRegressor, SettingPolicy, WindowDenoiseRegressor
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
    'WindowDenoisePreprocessor',
    'WindowDenoiseRegressor',
    'expected_setting_loss',
    'gather_roi_align',
]
