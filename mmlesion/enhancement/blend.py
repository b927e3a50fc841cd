"""The blend gate: a per-image step from the original image towards its enhancement."""

from __future__ import annotations

from torch import Tensor


def blend(original: Tensor, enhanced: Tensor, alpha: Tensor) -> Tensor:
    """``original + alpha * (enhanced - original)``, with one ``alpha`` per image.

    ``alpha = 0`` returns ``original`` bit for bit (``x + 0 * d`` is ``x`` in IEEE arithmetic
    for every finite ``d``), so a gate at 0 leaves the input of a detector exactly as it was;
    ``alpha = 1`` returns ``enhanced``. The step is linear in ``alpha``: its derivative is
    ``enhanced - original``.

    Args:
        original: ``(B, C, H, W)`` float, any range (the caller's intensity scale).
        enhanced: ``(B, C, H, W)`` float on the same scale.
        alpha: ``(B,)`` float in [0, 1].

    Returns:
        ``(B, C, H, W)``; differentiable in all three arguments.
    """
    if alpha.ndim != 1 or alpha.shape[0] != original.shape[0]:
        raise ValueError(
            f'alpha must hold one value per image, shape ({original.shape[0]},), '
            f'got {tuple(alpha.shape)}'
        )
    if original.shape != enhanced.shape:
        raise ValueError(
            f'original and enhanced must have the same shape, got {tuple(original.shape)} '
            f'and {tuple(enhanced.shape)}'
        )
    return original + alpha.to(original.dtype)[:, None, None, None] * (enhanced - original)
