from .enhancement_grid import SlicePanel, plot_enhancement_grid
from .training_curves import EpochCurves, plot_enhancer_curves, read_epoch_curves

__all__ = [
    'EpochCurves',
    'SlicePanel',
    'plot_enhancement_grid',
    'plot_enhancer_curves',
    'read_epoch_curves',
]
