"""Per-pixel fusion weights of GLCAE: well-exposed pixels with local contrast.

For a branch image ``v`` (one channel, values in ``[0, 1]``):

* contrast ``c = m / max(max(m), 1 / 255) + 1e-5`` with ``m = clamp(|lap(v)| - 1e-5, 0, 1)``
  and ``lap`` OpenCV's 3x3 Laplacian (``ksize=3``: ``[[2, 0, 2], [0, -8, 0], [2, 0, 2]]``,
  reflect-101 border). The reference code takes ``|lap|`` of the 8-bit image with
  ``convertScaleAbs``: it saturates at 255 levels (1 in ``[0, 1]`` units) and is never below one
  level where non-zero. Float images need the two guards that 8 bits give for free: the 1e-5
  dead band and the 1/255 floor of the normaliser keep float rounding on flat regions from
  being blown up to full contrast weight.
* brightness ``b = exp(-(s - 0.5)^2 / (2 * 0.2^2))`` of ``s``, ``v`` min-max scaled to
  ``[0, 1]`` per image (``s = 0`` for a constant image);
* weight ``w = min(c, b)``, in ``[1e-5, 1]``: never zero, so normalising two weights
  (:func:`normalized_weight`) never divides by zero (a constant image gets 0.5 / 0.5).

All functions are channel-wise on ``(B, C, H, W)`` and differentiable (almost everywhere).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

CONTRAST_FLOOR = 1e-5
BRIGHTNESS_SIGMA = 0.2
# Guards against float rounding on flat regions (see the module docstring).
CONTRAST_PEAK_FLOOR = 1 / 255
CONTRAST_NOISE = 1e-5
_TINY = 1e-12


def _half_laplacian(x: Tensor) -> Tensor:
    """Half of OpenCV's 3x3 Laplacian: ``sum of the 4 diagonal neighbours - 4 x``."""
    mode = 'reflect' if min(x.shape[-2:]) > 1 else 'replicate'
    p = F.pad(x, (1, 1, 1, 1), mode=mode)
    rows = torch.add(p[..., :-2, :], p[..., 2:, :])
    return torch.add(rows[..., :-2], rows[..., 2:]).sub_(x, alpha=4)


def laplacian_3x3(x: Tensor) -> Tensor:
    """OpenCV's ``cv2.Laplacian(x, ksize=3)`` with reflect-101 border; ``(B, C, H, W)`` -> same.

    Sides of one pixel repeat it instead of reflecting.
    """
    return _half_laplacian(x).mul_(2)


def _per_channel(reduce: str, x: Tensor) -> Tensor:
    """Per-channel ``amin`` / ``amax`` of ``(B, C, H, W)`` as ``(B, C, 1, 1)``."""
    return getattr(x.flatten(2), reduce)(dim=-1)[..., None, None]


def contrast_weight(v: Tensor) -> Tensor:
    """Saturated, max-normalised absolute Laplacian plus 1e-5; ``(B, C, H, W)`` -> same."""
    # Everything in half-Laplacian units: the saturation, dead band and floor are halved.
    magnitude = _half_laplacian(v).abs_().sub_(CONTRAST_NOISE / 2).clamp_(0.0, 0.5)
    peak = _per_channel('amax', magnitude).clamp(min=CONTRAST_PEAK_FLOOR / 2)
    return (magnitude * peak.reciprocal()).add_(CONTRAST_FLOOR)


def brightness_weight(v: Tensor) -> Tensor:
    """Gaussian well-exposedness of the min-max scaled image; ``(B, C, H, W)`` -> same."""
    low, high = _per_channel('amin', v), _per_channel('amax', v)
    # exp(-z^2) with z = (s - 0.5) / (sqrt(2) * sigma) and s = (v - low) / (high - low).
    scale = ((high - low).clamp(min=_TINY) * (2**0.5 * BRIGHTNESS_SIGMA)).reciprocal()
    z = (v * scale).add_((low * scale).neg_().sub_(0.5 / (2**0.5 * BRIGHTNESS_SIGMA)))
    return torch.exp(torch.square(z).neg_())


def fusion_weights(v: Tensor) -> Tensor:
    """GLCAE weight map ``min(contrast, brightness)`` of a branch image.

    Args:
        v: ``(B, C, H, W)`` float in ``[0, 1]``.

    Returns:
        ``(B, C, H, W)`` weights in ``[1e-5, 1]``, channel-wise.
    """
    return torch.minimum(contrast_weight(v), brightness_weight(v))


def normalized_weight(weight_a: Tensor, weight_b: Tensor) -> Tensor:
    """Share ``w_a / (w_a + w_b)`` of the first input; weights from :func:`fusion_weights`."""
    return weight_a / (weight_a + weight_b)
