from .backbones import FineStemResNet
from .data_preprocessors import AdaptiveCLAHEPreprocessor
from .detectors import FrozenDetectorEnhancer
from .regressors import CLAHEParamRegressor

__all__ = [
    'AdaptiveCLAHEPreprocessor',
    'CLAHEParamRegressor',
    'FineStemResNet',
    'FrozenDetectorEnhancer',
]
