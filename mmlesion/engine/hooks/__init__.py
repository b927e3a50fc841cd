from .data_provenance_hook import DataProvenanceHook
from .flush_denormals_hook import FlushDenormalsHook
from .lesion_visualization_hook import LesionVisualizationHook
from .progress_bar_hook import ProgressBarHook
from .resume_check_hook import ResumeCheckHook
from .safe_checkpoint_hook import AtomicLocalBackend, SafeCheckpointHook
from .train_time_budget_hook import TrainTimeBudgetHook

__all__ = [
    'AtomicLocalBackend',
    'DataProvenanceHook',
    'FlushDenormalsHook',
    'LesionVisualizationHook',
    'ProgressBarHook',
    'ResumeCheckHook',
    'SafeCheckpointHook',
    'TrainTimeBudgetHook',
]
