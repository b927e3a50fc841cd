from .adaptive_clahe_preprocessor import AdaptiveCLAHEPreprocessor
from .per_image_enhancement_preprocessor import PerImageEnhancementPreprocessor
from .policy_enhancement_preprocessor import PolicyEnhancementPreprocessor
from .window_denoise_preprocessor import WindowDenoisePreprocessor

__all__ = [
    'AdaptiveCLAHEPreprocessor',
    'PerImageEnhancementPreprocessor',
    'PolicyEnhancementPreprocessor',
    'WindowDenoisePreprocessor',
]
