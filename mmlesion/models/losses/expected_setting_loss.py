"""The expected loss of a policy over discrete enhancement settings, under full information."""

from __future__ import annotations

import torch


def expected_setting_loss(
    logits: torch.Tensor, setting_losses: torch.Tensor, reduction: str = 'mean'
) -> torch.Tensor:
    """``Σ_k π_k(x)·ℓ_k(x)`` with ``π(x) = softmax(logits(x))``: a contextual bandit with full
    information.

    Every image's loss under every setting is known (``ℓ_k(x)``, the frozen detector's loss on
    image ``x`` enhanced with setting ``k``, computed once), so each image credits each setting
    exactly: no sampled action, no gradient through the enhancement. The gradient in the logits
    is ``π_k(ℓ_k − Σ_j π_j ℓ_j)``: a setting's probability grows where its loss is below the
    policy's current expectation on that image, and a constant added to one image's losses
    changes nothing.

    Args:
        logits: ``(B, K)`` float, the policy's scores of the ``K`` settings.
        setting_losses: ``(B, K)`` float, ``ℓ_k`` of each image and setting (no gradient needed).
        reduction: ``'mean'`` or ``'sum'`` over the images, or ``'none'`` (``(B,)``).

    Returns:
        The expected loss, a scalar (``'mean'``, ``'sum'``) or ``(B,)`` (``'none'``).
    """
    if logits.ndim != 2 or logits.shape != setting_losses.shape:
        raise ValueError(
            'expected_setting_loss: logits and setting_losses must both be (B, K), got '
            f'{tuple(logits.shape)} and {tuple(setting_losses.shape)}'
        )
    per_image = (torch.softmax(logits, dim=1) * setting_losses.to(logits.dtype)).sum(dim=1)
    if reduction == 'mean':
        return per_image.mean()
    if reduction == 'sum':
        return per_image.sum()
    if reduction == 'none':
        return per_image
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
