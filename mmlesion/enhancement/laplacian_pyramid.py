"""Gaussian / Laplacian pyramids and the seam-free multi-scale fusion of two images.

Downsampling blurs with the 5-tap binomial kernel ``(1, 4, 6, 4, 1) / 16`` (reflect-101 border,
as ``cv2.pyrDown``) and keeps every second pixel, so a side of ``n`` becomes ``ceil(n / 2)``.
Upsampling to an exact size is the matching binomial interpolation: even outputs take
``(a + 6 b + c) / 8`` of the coarse neighbours, odd outputs ``(b + c) / 2`` (edge pixels
repeated), then the result is cropped, so odd sizes reconstruct exactly.

Fusion (Burt & Adelson; Mertens et al.) blends the Laplacian pyramids of the two images with the
Gaussian pyramid of the weight and collapses the result: detail is mixed at its own scale, which
avoids the seams of a per-pixel weighted average. The collapse inverts the decomposition exactly,
so fusing an image with itself returns it (to float rounding) whatever the weights.

All functions are channel-wise on ``(B, C, H, W)``, differentiable, and work on any size.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import Tensor

#: Pyramids stop before the smaller side of the coarsest level falls below this.
MIN_COARSE_SIDE = 16


def default_levels(height: int, width: int) -> int:
    """Pyramid levels (base included) until the smaller side would drop below 16 pixels.

    ``512 x 512`` gives 6 levels (512 ... 16); images smaller than 32 pixels get 1 level, i.e. a
    plain per-pixel weighted average.
    """
    side = min(height, width)
    if side < 2 * MIN_COARSE_SIDE:
        return 1
    return math.floor(math.log2(side / MIN_COARSE_SIDE)) + 1


def _pad(x: Tensor, pad: int, mode: str) -> Tensor:
    """Pad ``H`` and ``W`` by ``pad``; reflect-101 becomes replicate if a side is ``<= pad``."""
    if mode == 'reflect' and min(x.shape[-2:]) <= pad:
        mode = 'replicate'
    return F.pad(x, (pad, pad, pad, pad), mode=mode)


def _taps5(p: Tensor, dim: int, count: int) -> Tensor:
    """``16 x`` binomial 5-tap sums along ``dim`` of a 2-padded tensor at every second position."""

    def tap(start: int) -> Tensor:
        return p.narrow(dim, start, 2 * count - 1)[
            (..., slice(None, None, 2)) if dim == -1 else (..., slice(None, None, 2), slice(None))
        ]

    out = torch.add(tap(0), tap(4))
    out.add_(torch.add(tap(1), tap(3)), alpha=4)
    return out.add_(tap(2), alpha=6)


def pyr_down(x: Tensor) -> Tensor:
    """Blur and halve: ``(B, C, H, W)`` -> ``(B, C, ceil(H / 2), ceil(W / 2))``.

    Reflect-101 border, replicate for images with a side of 2 pixels or less.
    """
    height, width = x.shape[-2:]
    p = _pad(x, 2, 'reflect')
    rows = _taps5(p, -1, (width + 1) // 2)
    return _taps5(rows, -2, (height + 1) // 2).mul_(1 / 256)


def _interleave(even: Tensor, odd: Tensor, dim: int) -> Tensor:
    """``even[0], odd[0], even[1], odd[1], ...`` along ``dim`` (-1 or -2)."""
    if dim == -2:
        return torch.stack((even, odd), dim=-2).flatten(-3, -2)
    # A complex tensor stores (real, imaginary) pairs: building one is an element-wise
    # interleave about five times faster on CPU than stack(..., dim=-1), and differentiable.
    return torch.view_as_real(torch.complex(even, odd)).flatten(-2)


def _double(p: Tensor, dim: int, size: int) -> Tensor:
    """``8 x`` binomial 2x interpolation along ``dim`` of a 1-padded tensor, cropped to ``size``."""
    n = p.shape[dim] - 2
    before, centre, after = p.narrow(dim, 0, n), p.narrow(dim, 1, n), p.narrow(dim, 2, n)
    even = torch.add(before, after).add_(centre, alpha=6)
    odd = torch.add(centre, after).mul_(4)
    return _interleave(even, odd, dim).narrow(dim, 0, size)


def pyr_up(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Interpolate ``(B, C, h, w)`` to ``(B, C, *size)``, with ``h = ceil(size[0] / 2)`` etc."""
    p = _pad(x, 1, 'replicate')
    # Rows keep their padding for the second pass; 1/64 undoes the two 8x passes and is applied
    # on the smaller intermediate.
    cols = _double(p, -1, size[1]).mul_(1 / 64)
    return _double(cols, -2, size[0])


def gaussian_pyramid(x: Tensor, levels: int) -> list[Tensor]:
    """``levels`` images, finest first: ``x``, ``pyr_down(x)``, ..."""
    pyramid = [x]
    for _ in range(levels - 1):
        pyramid.append(pyr_down(pyramid[-1]))
    return pyramid


def laplacian_pyramid(x: Tensor, levels: int) -> list[Tensor]:
    """Band-pass levels ``G_k - pyr_up(G_{k+1})``, finest first, and the coarsest ``G`` last."""
    gaussian = gaussian_pyramid(x, levels)
    bands = [g - pyr_up(coarser, g.shape[-2:]) for g, coarser in itertools.pairwise(gaussian)]
    return [*bands, gaussian[-1]]


def collapse(pyramid: list[Tensor]) -> Tensor:
    """Invert :func:`laplacian_pyramid`: ``(B, C, H, W)`` of the finest level's size."""
    out = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        out = band + pyr_up(out, band.shape[-2:])
    return out


def pyramid_fusion(a: Tensor, b: Tensor, weight_a: Tensor, levels: int | None = None) -> Tensor:
    """Multi-scale blend of two images: ``a`` where ``weight_a`` is 1, ``b`` where it is 0.

    The fused pyramid ``Gw_k * La_k + (1 - Gw_k) * Lb_k`` collapses to
    ``b + collapse(Gw_k * L(a - b)_k)`` (the collapse is linear and inverts ``L``), so only the
    difference is decomposed; fusing an image with itself returns it exactly.

    Args:
        a: ``(B, C, H, W)`` float.
        b: Same shape as ``a``.
        weight_a: ``(B, C, H, W)`` share of ``a`` per pixel, in ``[0, 1]`` (``b`` gets the rest).
        levels: Pyramid levels including the base; :func:`default_levels` if None. 1 is a plain
            per-pixel weighted average.

    Returns:
        ``(B, C, H, W)``, not clamped (blending band-pass levels may overshoot the inputs'
        range slightly).
    """
    if levels is None:
        levels = default_levels(*a.shape[-2:])
    channels = a.shape[1]
    # Difference and weight go down together; on the way up, the coarser difference and the
    # partial collapse go up together: one call per level each way.
    gaussian = gaussian_pyramid(torch.cat((a - b, weight_a), dim=1), levels)
    out = gaussian[-1][:, :channels] * gaussian[-1][:, channels:]
    for k in range(levels - 2, -1, -1):
        level, coarser = gaussian[k], gaussian[k + 1][:, :channels]
        up = pyr_up(torch.cat((coarser, out), dim=1), level.shape[-2:])
        band = level[:, :channels] - up[:, :channels]
        out = torch.addcmul(up[:, channels:], level[:, channels:], band)
    return b + out
