from .fixed_shift import FixedShift, shift_array
from .hu_window import DEEPLESION_WIDE_WINDOW_HU, HUWindow, window_hu
from .load_deeplesion_slices import LoadDeepLesionSlices, read_deeplesion_png
from .local_contrast_window import LocalContrastWindow, local_contrast_hu
from .neighbour_slices import neighbour_positions, stack_neighbours
from .random_glcae import RandomGLCAE
from .random_lesion_crop import RandomLesionCrop
from .rescale_to_spacing import RescaleToSpacing

__all__ = [
    'DEEPLESION_WIDE_WINDOW_HU',
    'FixedShift',
    'HUWindow',
    'LoadDeepLesionSlices',
    'LocalContrastWindow',
    'RandomGLCAE',
    'RandomLesionCrop',
    'RescaleToSpacing',
    'local_contrast_hu',
    'neighbour_positions',
    'read_deeplesion_png',
    'shift_array',
    'stack_neighbours',
    'window_hu',
]
