from .hooks import ProgressBarHook, TrainTimeBudgetHook
from .optimizers import TrainableParamsOptimWrapperConstructor

__all__ = ['ProgressBarHook', 'TrainTimeBudgetHook', 'TrainableParamsOptimWrapperConstructor']
