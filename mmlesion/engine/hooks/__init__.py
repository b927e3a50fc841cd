from .flush_denormals_hook import FlushDenormalsHook
from .hard_negative_mining_hook import HardNegativeMiningHook
from .progress_bar_hook import ProgressBarHook
from .resume_check_hook import ResumeCheckHook
from .train_time_budget_hook import TrainTimeBudgetHook

__all__ = [
    'FlushDenormalsHook',
    'HardNegativeMiningHook',
    'ProgressBarHook',
    'ResumeCheckHook',
    'TrainTimeBudgetHook',
]
