from .adaptive_clahe_preprocessor import AdaptiveCLAHEPreprocessor

__all__ = ['AdaptiveCLAHEPreprocessor']
