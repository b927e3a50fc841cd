"""What a user calls for inference: clinical CT loading and :class:`LesionInferencer`.

The main job and the benchmarks live beside the package, in ``projects/enhancement_benchmark/``.
"""

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
