from .hooks import FlushDenormalsHook, ProgressBarHook, SafeCheckpointHook, TrainTimeBudgetHook
from .optimizers import TrainableParamsOptimWrapperConstructor

__all__ = [
    'FlushDenormalsHook',
    'ProgressBarHook',
    'SafeCheckpointHook',
    'TrainTimeBudgetHook',
    'TrainableParamsOptimWrapperConstructor',
]
