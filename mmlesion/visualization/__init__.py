from .detection_overlay import draw_detections
from .enhancement_grid import SlicePanel, plot_enhancement_grid
from .regressor_gradcam import gradcam_overlay, regressor_gradcam
from .training_curves import EpochCurves, plot_enhancer_curves, read_epoch_curves

__all__ = [
    'EpochCurves',
    'SlicePanel',
    'draw_detections',
    'gradcam_overlay',
    'plot_enhancement_grid',
    'plot_enhancer_curves',
    'read_epoch_curves',
    'regressor_gradcam',
]
