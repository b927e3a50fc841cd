from .flush_denormals_hook import FlushDenormalsHook
from .progress_bar_hook import ProgressBarHook
from .train_time_budget_hook import TrainTimeBudgetHook

__all__ = ['FlushDenormalsHook', 'ProgressBarHook', 'TrainTimeBudgetHook']
