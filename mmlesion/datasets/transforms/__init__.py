from .hu_window import DEEPLESION_WIDE_WINDOW_HU, HUWindow, window_hu
from .load_deeplesion_slices import LoadDeepLesionSlices, read_deeplesion_png
from .rescale_to_spacing import RescaleToSpacing

__all__ = [
    'DEEPLESION_WIDE_WINDOW_HU',
    'HUWindow',
    'LoadDeepLesionSlices',
    'RescaleToSpacing',
    'read_deeplesion_png',
    'window_hu',
]
