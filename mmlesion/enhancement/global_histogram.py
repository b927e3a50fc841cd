"""Global histogram modification with the least tone distortion (Tian & Cohen, ICCVW 2017).

For a normalised histogram ``h`` (256 levels) and ``lam >= 0`` the modified histogram is
``h_lam = (h + lam * u) / (1 + lam)`` with ``u`` uniform (``1 / 256``) and the mapping is
``T(k) = round(255 * cdf_lam(k))``, clamped to ``[0, 255]``. (The public reference code uses
``ceil(255 * cdf + 0.5)``, which reaches 256 for the top level; rounding keeps ``T`` a valid gray
level.) ``lam = 0`` is plain histogram equalisation; ``lam -> inf`` tends to the identity.

The tone distortion of ``T`` is ``D = max (i - j)`` over gray levels ``i > j`` that occur in the
image (``h > 0``) and that ``T`` merges (``T(i) = T(j)``). The reference code tests ``h_lam > 0``
instead, which makes every level "occupied" as soon as ``lam > 0``; merging levels absent from the
image loses no tone, so occupancy is taken from ``h``. Because ``T`` is non-decreasing, merged
levels form runs of equal ``T`` and ``D = max_k (k - first occupied level with T = T(k))`` over
occupied ``k``: one ``scatter_reduce`` for every image and candidate ``lam`` at once.

``lam`` is chosen among a dense set of candidates as the **smallest** value reaching the least
``D``: ``D`` tends to fall as ``lam`` grows (the mapping approaches the identity, which merges
next to nothing), so the smallest minimiser keeps the most equalisation for the same
distortion. The
choice is an arg-min, not differentiable; it is returned detached. The mapped image is
differentiable in ``x`` (tables read linearly between levels, see :mod:`.lut`).

An image with a single occupied level is returned unchanged (as OpenCV's ``equalizeHist``
does) instead of being mapped to white.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._checks import as_working_precision, check_images
from ._chunks import map_chunks
from .clahe_tiles import NUM_BINS
from .histogram import image_histograms
from .lut import apply_lut


def lambda_candidates(
    num: int = 128,
    low: float = 1e-3,
    high: float = 1e3,
    device: torch.device | str | None = None,
) -> Tensor:
    """``0`` followed by ``num - 1`` log-spaced values in ``[low, high]``; ``(num,)`` float64."""
    logspaced = torch.logspace(
        math.log10(low), math.log10(high), num - 1, dtype=torch.float64, device=device
    )
    return torch.cat((torch.zeros(1, dtype=torch.float64, device=device), logspaced))


def histogram_mapping(hist: Tensor, lam: Tensor) -> Tensor:
    """Gray-level mappings ``T`` of modified histograms.

    Args:
        hist: ``(N, 256)`` pixel counts (or any non-negative weights), not all zero.
        lam: ``(N,)`` one ``lam >= 0`` per image, or ``(N, L)`` candidates per image.

    Returns:
        ``(N, 256)`` or ``(N, L, 256)`` float64 integers in ``[0, 255]``, non-decreasing in the
        level.
    """
    prob = hist.double() / hist.double().sum(dim=-1, keepdim=True)
    lam = lam.double()
    if lam.dim() == 2:
        prob = prob[:, None, :]
    lam = lam[..., None]
    modified = (prob + lam / NUM_BINS) / (1 + lam)
    cdf = torch.cumsum(modified, dim=-1)
    return torch.round(cdf * (NUM_BINS - 1)).clamp(0, NUM_BINS - 1)


def tone_distortion(hist: Tensor, lam_candidates: Tensor) -> Tensor:
    """Tone distortion ``D`` of every image's mapping for every candidate ``lam``.

    Args:
        hist: ``(N, 256)`` pixel counts; a level is occupied when its count is ``> 0``.
        lam_candidates: ``(L,)`` or ``(N, L)`` values ``>= 0``.

    Returns:
        ``(N, L)`` int64 in ``[0, 255]``: the largest gap ``i - j`` between occupied levels
        ``i > j`` mapped to the same output level (0 when nothing is merged).
    """
    if lam_candidates.dim() == 1:
        lam_candidates = lam_candidates.expand(hist.shape[0], -1)
    mapping = histogram_mapping(hist, lam_candidates).to(torch.int64)
    n, num_lam, _ = mapping.shape
    levels = torch.arange(NUM_BINS, device=hist.device)
    occupied = (hist > 0)[:, None, :].expand(n, num_lam, NUM_BINS)
    source = torch.where(occupied, levels, NUM_BINS)
    first = torch.full_like(mapping, NUM_BINS)
    first = first.scatter_reduce(-1, mapping, source, reduce='amin')
    gap = levels - first.gather(-1, mapping)
    return torch.where(occupied, gap, 0).amax(dim=-1)


def select_lambda(hist: Tensor, lam_candidates: Tensor) -> Tensor:
    """Smallest candidate with the least tone distortion, per image.

    Args:
        hist: ``(N, 256)`` pixel counts.
        lam_candidates: ``(L,)`` values ``>= 0`` in increasing order.

    Returns:
        ``(N,)`` float64 chosen ``lam``.
    """
    distortion = tone_distortion(hist, lam_candidates)
    is_best = distortion == distortion.amin(dim=-1, keepdim=True)
    return lam_candidates.double()[torch.argmax(is_best.to(torch.uint8), dim=-1)]


def global_luts(x: Tensor, lam_candidates: Tensor) -> tuple[Tensor, Tensor]:
    """Least-distortion mapping of every image, as a table (no checks, no gradient).

    Args:
        x: ``(N, H, W)`` float in ``[0, 1]``.
        lam_candidates: ``(L,)`` increasing values ``>= 0``.

    Returns:
        ``(N, 256)`` tables in ``[0, 1]`` (dtype of ``x``; identity for single-level images) and
        ``(N,)`` float64 chosen ``lam``.
    """
    with torch.no_grad():
        hist = image_histograms(x)
        lam = select_lambda(hist, lam_candidates.to(x.device))
        mapping = histogram_mapping(hist, lam)
        levels = torch.arange(NUM_BINS, dtype=mapping.dtype, device=x.device)
        single_level = (hist > 0).sum(dim=-1, keepdim=True) == 1
        mapping = torch.where(single_level, levels, mapping)
        return (mapping / (NUM_BINS - 1)).to(x.dtype), lam


def global_histogram_modification(
    x: Tensor, lam_candidates: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Histogram modification with the least tone distortion, per image and channel.

    Args:
        x: ``(B, C, H, W)`` float in ``[0, 1]`` (values outside are clamped), finite; half
            precision is processed in float32.
        lam_candidates: ``(L,)`` increasing values ``>= 0`` to search;
            :func:`lambda_candidates` (0 and 127 log-spaced values in ``[1e-3, 1e3]``) if None.

    Returns:
        ``y``: ``(B, C, H, W)`` in ``[0, 1]``, differentiable in ``x``;
        ``lam``: ``(B, C)`` float64 chosen ``lam`` per channel, detached.
    """
    check_images(x)
    batch, channels, height, width = x.shape
    if lam_candidates is None:
        lam_candidates = lambda_candidates(device=x.device)

    def modify(images: Tensor) -> tuple[Tensor, Tensor]:
        luts, lam = global_luts(images, lam_candidates)
        return apply_lut(luts, images), lam

    work = as_working_precision(x).reshape(batch * channels, height, width)
    y, lam = map_chunks(modify, work)
    y = y.to(x.dtype)
    return y.view(batch, channels, height, width), lam.view(batch, channels)
