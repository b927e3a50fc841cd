"""A CT-native enhancement: re-window each display channel in HU, then denoise by a Gaussian step.

Unlike GLCAE, the family holds the image as it came: at its identity parameters (level offset 0,
width scale 1, denoising strength 0) :func:`window_denoise` returns its input bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ._checks import check_images


def gaussian_blur(x: Tensor, sigma_px: float) -> Tensor:
    """Separable Gaussian blur of every channel of ``x`` ``(B, C, H, W)``, edges replicated.

    The kernel reaches ``ceil(3 sigma)`` pixels to each side (at most the image side) and sums
    to 1, so a flat image stays flat and values stay inside the input's range.
    """
    channels = x.shape[1]
    radius = max(1, min(math.ceil(3.0 * sigma_px), max(x.shape[-2:]) - 1))
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (offsets / sigma_px) ** 2)
    kernel = kernel / kernel.sum()
    rows = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    cols = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    padded = F.pad(x, (radius, radius, radius, radius), mode='replicate')
    return F.conv2d(F.conv2d(padded, rows, groups=channels), cols, groups=channels)


def window_denoise(
    x: Tensor,
    level_offset_hu: Tensor,
    width_scale: Tensor,
    denoise: Tensor,
    window_widths_hu: Sequence[float | None],
    sigma_px: float = 1.0,
    intensity_max: float = 255.0,
) -> Tensor:
    """Re-window each display channel of ``x`` in HU, then blend towards its Gaussian blur.

    Step 1, the window. A channel ``c`` that shows a HU window of width ``W_c`` (HU) on
    ``[0, intensity_max]`` is shown through the window of level ``L_c + level_offset_hu`` and
    width ``W_c * width_scale`` instead, both per image. With the gain ``g = 1 / width_scale``,
    the mid grey ``m = intensity_max / 2`` and the offset in gray levels
    ``o = level_offset_hu * intensity_max / W_c``::

        w = clamp(x + (x - m) * (g - 1) - g * o, 0, intensity_max)

    which is the new window written as a step from ``x``: at ``g = 1``, ``o = 0`` the step is an
    exact zero, so ``w == x`` bit for bit for every ``x`` in the range, integer-valued or not.
    A positive offset moves the window up in HU (the image darkens); a scale below 1 narrows it
    (contrast around the window's centre grows by ``1 / width_scale``).

    Narrowing recovers contrast the window compressed. Widening cannot bring back HU that the
    pipeline's window already clipped to 0 or ``intensity_max``: those pixels carry no HU beyond
    the window's ends, so a widened window shows them at its old ends, compressed towards grey.

    A channel whose width is ``None`` is not re-windowed (e.g. the local-contrast view, whose
    values are HU differences rather than HU levels, so a level offset has no meaning there).

    Step 2, the denoising. With ``beta = denoise`` per image, the Gaussian blur ``G`` of
    ``sigma_px`` pixels, every channel gets::

        y = clamp(w + beta * (G(w) - w), 0, intensity_max)

    ``beta = 0`` returns ``w`` exactly; ``beta = 1`` the blurred image.

    Args:
        x: ``(B, C, H, W)`` float in [0, intensity_max], each channel a HU display window.
        level_offset_hu: ``(B,)`` window level offset in HU.
        width_scale: ``(B,)`` window width factor, > 0 (1 = the pipeline's window).
        denoise: ``(B,)`` denoising strength in [0, 1].
        window_widths_hu: the width in HU of each channel's window (``C`` entries), ``None``
            for a channel that is not re-windowed.
        sigma_px: the Gaussian's standard deviation in pixels, > 0.
        intensity_max: the white level of ``x``.

    Returns:
        ``(B, C, H, W)`` in [0, intensity_max], same dtype as ``x``; differentiable in ``x``
        and the three parameters.
    """
    check_images(x)
    batch, channels = x.shape[:2]
    if len(window_widths_hu) != channels:
        raise ValueError(
            f'window_widths_hu must give one width (HU) or None per channel ({channels}), got '
            f'{list(window_widths_hu)}'
        )
    if any(w is not None and not w > 0 for w in window_widths_hu):
        raise ValueError(f'window widths must be > 0 HU, got {list(window_widths_hu)}')
    if not sigma_px > 0:
        raise ValueError(f'sigma_px must be > 0, got {sigma_px}')
    for name, value in (
        ('level_offset_hu', level_offset_hu),
        ('width_scale', width_scale),
        ('denoise', denoise),
    ):
        if value.shape != (batch,):
            raise ValueError(f'{name} must have shape ({batch},), got {tuple(value.shape)}')
    if not bool((width_scale > 0).all()):
        raise ValueError(f'width_scale must be > 0, got {width_scale.tolist()}')
    if not bool(((denoise >= 0) & (denoise <= 1)).all()):
        raise ValueError(f'denoise must lie in [0, 1], got {denoise.tolist()}')

    rewindowed = [i for i, w in enumerate(window_widths_hu) if w is not None]
    windowed = x
    if rewindowed:
        # Gray levels per HU of each re-windowed channel: (1, C', 1, 1).
        levels_per_hu = x.new_tensor([intensity_max / window_widths_hu[i] for i in rewindowed])
        gain = (1.0 / width_scale).to(x.dtype)[:, None, None, None]
        offset = level_offset_hu.to(x.dtype)[:, None, None, None] * levels_per_hu.view(1, -1, 1, 1)
        part = x[:, rewindowed]
        step = (part - intensity_max / 2) * (gain - 1) - gain * offset
        windowed = x.clone()
        windowed[:, rewindowed] = (part + step).clamp(0, intensity_max)
    beta = denoise.to(x.dtype)[:, None, None, None]
    smoothed = windowed + beta * (gaussian_blur(windowed, sigma_px) - windowed)
    return smoothed.clamp(0, intensity_max)
