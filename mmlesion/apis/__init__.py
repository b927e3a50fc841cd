"""High-level entry points: clinical CT loading, inference, and the main job's pipeline."""

from .ct_volume import CTVolume
from .lesion_inferencer import Detection, LesionInferencer, SliceResult
from .load_ct import load_ct_input, load_ct_slice, load_ct_volume

__all__ = [
    'CTVolume',
    'Detection',
    'LesionInferencer',
    'SliceResult',
    'load_ct_input',
    'load_ct_slice',
    'load_ct_volume',
]
