from .hooks import ProgressBarHook, TrainTimeBudgetHook

__all__ = ['ProgressBarHook', 'TrainTimeBudgetHook']
