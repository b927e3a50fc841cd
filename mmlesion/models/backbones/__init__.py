from .fine_stem_resnet import FineStemResNet

__all__ = ['FineStemResNet']
