"""GLCAE contrast enhancement as batched, differentiable torch ops on ``(B, C, H, W)`` in [0, 1].

``glcae`` is the full enhancement; its pieces are public for reuse and testing: ``clahe``
(OpenCV semantics), ``global_histogram_modification`` with ``tone_distortion``, the fusion
``fusion_weights`` and the Laplacian ``pyramid_fusion``. ``glcae``'s inference on the
CPU runs in a fused C++ kernel (:mod:`.native`, ``csrc/glcae_cpu.cpp``) when it is compiled.
``blend`` is the gate that steps from the original image towards an enhancement (``alpha = 0``
returns the original exactly). ``window_denoise`` is the CT-native family: a per-image HU window
level and width, then a Gaussian denoising step; its identity parameters return the input exactly.
"""

from .blend import blend
from .clahe import clahe
from .fusion_weights import fusion_weights, normalized_weight
from .glcae import glcae
from .global_histogram import (
    global_histogram_modification,
    histogram_mapping,
    lambda_candidates,
    select_lambda,
    tone_distortion,
)
from .laplacian_pyramid import (
    collapse,
    default_levels,
    gaussian_pyramid,
    laplacian_pyramid,
    pyramid_fusion,
)
from .linear_stretch import linear_stretch
from .window_denoise import gaussian_blur, window_denoise

__all__ = [
    'blend',
    'clahe',
    'collapse',
    'default_levels',
    'fusion_weights',
    'gaussian_blur',
    'gaussian_pyramid',
    'glcae',
    'global_histogram_modification',
    'histogram_mapping',
    'lambda_candidates',
    'laplacian_pyramid',
    'linear_stretch',
    'normalized_weight',
    'pyramid_fusion',
    'select_lambda',
    'tone_distortion',
    'window_denoise',
]
