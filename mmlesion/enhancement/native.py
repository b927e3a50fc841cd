"""The fused CPU kernel of GLCAE's forward pass (``csrc/glcae_cpu.cpp``), used for inference.

:func:`~.glcae.glcae` is a chain of about a hundred tensor-wide torch ops; on a CPU each one is a
pass over memory, so the chain costs far more than its arithmetic. The C++ kernel computes the
same forward pass image by image (one image per torch thread) with a loop nest per step. The torch
ops remain the specification and the only path that carries gradients: the kernel is chosen only
when nothing needs a gradient.

Agreement with the torch ops (``tests/test_enhancement_native.py``): histograms, gray levels,
CLAHE tables and the chosen ``lam`` are identical; the output differs by float rounding (about
``1e-6``, below ``1e-4`` everywhere), since the kernel blends CLAHE's tiles from OpenCV's
coordinates directly instead of through ``grid_sample``'s normalised ones, and writes its blends
``a + w (b - a)``. One case differs more: a constant image. Its branches are exactly constant in
the kernel, so is its output; the torch ops' branches vary in the last bits, which the brightness
weight's min-max scaling amplifies (the fusion weights of a constant image are not defined by the
paper either).

The kernel is compiled by ``pip install --no-build-isolation -e .`` (``make venv``) as
``mmlesion.enhancement._glcae_native``. Without it (no compiler, or torch absent at build time)
:func:`available` is False and ``glcae`` runs its torch ops everywhere.
"""

from __future__ import annotations

import torch
from torch import Tensor

try:
    from . import _glcae_native
except ImportError:  # not compiled: the torch ops are used
    _glcae_native = None

#: Values of ``glcae``'s ``backend`` argument.
BACKENDS = ('auto', 'torch', 'native')


def available() -> bool:
    """Whether the fused CPU kernel was compiled with this installation."""
    return _glcae_native is not None


def needs_grad(*tensors: Tensor) -> bool:
    """Whether autograd would record an op on ``tensors`` here."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def applicable(x: Tensor, *params: Tensor, exact: bool) -> bool:
    """Whether the kernel computes what the torch ops would: CPU float32, no gradient, OpenCV's
    tables (``exact``)."""
    return (
        x.device.type == 'cpu' and x.dtype == torch.float32 and exact and not needs_grad(x, *params)
    )


def use_native(backend: str, x: Tensor, *params: Tensor, exact: bool) -> bool:
    """Resolve ``backend`` for these arguments; raise if ``'native'`` cannot be honoured."""
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    if backend == 'torch':
        return False
    usable = applicable(x, *params, exact=exact)
    if backend == 'native':
        if not available():
            raise RuntimeError(
                "backend='native': mmlesion.enhancement._glcae_native is not compiled; "
                'reinstall with `pip install --no-build-isolation -e .` (needs a C++ compiler)'
            )
        if not usable:
            raise ValueError(
                "backend='native' needs float32 (or half) CPU images, exact=True and no "
                f'gradient; got {x.dtype} on {x.device}, exact={exact}, grad required: '
                f'{needs_grad(x, *params)}'
            )
    return available() and usable


def glcae_native(
    x: Tensor,
    clip_limit: Tensor,
    grid_size: Tensor,
    lam_candidates: Tensor,
    levels: int,
    intensity_max: float | None = None,
) -> tuple[Tensor, Tensor]:
    """GLCAE of ``x (N, H, W)`` float32 on the CPU with validated ``(N,)`` parameters; with
    ``intensity_max``, of ``(x / intensity_max).clamp(0, 1)``, multiplied back by it.

    Returns ``(N, H, W)`` in ``[0, 1]`` (``[0, intensity_max]``) and the ``(N,)`` float64 chosen
    ``lam``.
    """
    return _glcae_native.glcae_forward(
        x, clip_limit.detach(), grid_size.detach(), lam_candidates.detach(), levels, intensity_max
    )
