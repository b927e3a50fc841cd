from .adaptive_clahe_preprocessor import AdaptiveCLAHEPreprocessor
from .policy_enhancement_preprocessor import PolicyEnhancementPreprocessor

__all__ = ['AdaptiveCLAHEPreprocessor', 'PolicyEnhancementPreprocessor']
