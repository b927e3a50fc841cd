"""What a user calls for inference: clinical CT loading, :class:`LesionInferencer`, and the
validation check of a gated enhancer before it is deployed (:func:`check_gate`).

The main job and the benchmarks live beside the package, in ``projects/enhancement_benchmark/``.
"""

from .ct_volume import CTVolume
from .gate_check import GateDecision, check_gate
from .lesion_inferencer import Detection, LesionInferencer, SliceResult
from .load_ct import load_ct_input, load_ct_slice, load_ct_volume

__all__ = [
    'CTVolume',
    'Detection',
    'GateDecision',
    'LesionInferencer',
    'SliceResult',
    'check_gate',
    'load_ct_input',
    'load_ct_slice',
    'load_ct_volume',
]
