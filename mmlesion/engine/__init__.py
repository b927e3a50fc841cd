from .hooks import FlushDenormalsHook, ProgressBarHook, TrainTimeBudgetHook
from .optimizers import TrainableParamsOptimWrapperConstructor

__all__ = [
    'FlushDenormalsHook',
    'ProgressBarHook',
    'TrainTimeBudgetHook',
    'TrainableParamsOptimWrapperConstructor',
]
