"""GLCAE: global and local contrast adaptive enhancement (Tian & Cohen, ICCVW 2017), batched.

Per image and channel: linear stretch to ``[0, 1]`` -> global branch (histogram modification with
the least tone distortion, :mod:`.global_histogram`) and local branch (CLAHE with the image's
``(clip_limit, grid_size)``, :mod:`.clahe`) -> per-pixel weights (:mod:`.fusion_weights`) ->
Laplacian-pyramid fusion (:mod:`.laplacian_pyramid`) -> clamp to ``[0, 1]``.

The output is differentiable in ``x``, in ``clip_limit`` and in a fractional ``grid_size`` (see
:mod:`.clahe`); the global branch's ``lam`` is an arg-min and is returned detached. On the CPU,
when nothing needs a gradient, the same forward pass runs in a fused C++ kernel
(:mod:`.native`); the torch ops here remain its specification.

Where this differs from the public reference code (``pengyan510/glcae``): the branches are fused
through Laplacian pyramids as the paper describes, not by a per-pixel weighted average; ``lam``
is the smallest of a dense candidate set with the least distortion instead of a Brent search;
tone distortion counts the levels present in the image; the mapping rounds instead of
``ceil(. + 0.5)``; channels are processed independently (no luminance/hue preservation, which
CT does not need). Each module's docstring gives the details.
"""

from __future__ import annotations

from torch import Tensor

from ._checks import (
    BatchParam,
    as_working_precision,
    check_clip_limit,
    check_grid_size,
    check_images,
    check_intensity_max,
    check_levels,
)
from ._chunks import map_chunks
from .clahe import clahe_images
from .fusion_weights import fusion_weights, normalized_weight
from .global_histogram import global_luts, lambda_candidates
from .laplacian_pyramid import default_levels, pyramid_fusion
from .linear_stretch import linear_stretch
from .native import glcae_native, use_native


def _glcae_images(
    x: Tensor,
    clip_limit: Tensor,
    grid_size: Tensor,
    levels: int | None,
    exact: bool,
    lam_candidates: Tensor,
) -> tuple[Tensor, Tensor]:
    """GLCAE of single-channel images ``(N, H, W)`` with validated ``(N,)`` parameters."""
    stretched = linear_stretch(x[:, None])[:, 0]
    luts, lam = global_luts(stretched, lam_candidates)
    # The global mapping is read in the same grid_sample pass as the CLAHE tile tables:
    # channel 0 is the local branch, channel 1 the global one.
    branches = clahe_images(stretched, clip_limit, grid_size, exact, luts)
    local_branch, global_branch = branches[:, :1], branches[:, 1:]
    weights = fusion_weights(branches)
    weight_global = normalized_weight(weights[:, 1:], weights[:, :1])
    fused = pyramid_fusion(global_branch, local_branch, weight_global, levels)
    return fused[:, 0].clamp_(0.0, 1.0), lam


def glcae(
    x: Tensor,
    clip_limit: BatchParam,
    grid_size: BatchParam,
    *,
    levels: int | None = None,
    exact: bool = True,
    lam_candidates: Tensor | None = None,
    return_lambda: bool = False,
    backend: str = 'auto',
    intensity_max: float | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """Enhance a batch of images with GLCAE.

    Args:
        x: ``(B, C, H, W)`` float, finite (any range: every channel is stretched to
            ``[0, 1]`` first). Channels (2.5D slices) are enhanced separately with their image's
            parameters. Half precision is processed in float32.
        clip_limit: CLAHE clip limit, OpenCV convention: a number or ``(B,)`` tensor, finite
            and ``> 0`` (``ValueError`` otherwise); may require grad.
        grid_size: CLAHE tiles per side: a number or ``(B,)`` tensor ``>= 1``, clamped to
            ``min(H, W)``; fractional values blend the neighbouring integer grids, so it may
            require grad.
        levels: Fusion pyramid levels (base included), an integer ``>= 1``;
            :func:`~.laplacian_pyramid.default_levels` if None.
        exact: OpenCV's CLAHE tables (True) or their interpolation between integer clip
            counts (False), see :mod:`.clahe_lut`.
        lam_candidates: ``(L,)`` increasing ``lam`` values for the global branch;
            :func:`~.global_histogram.lambda_candidates` if None.
        return_lambda: Also return the global branch's ``lam``.
        backend: ``'auto'``: the fused CPU kernel (:mod:`.native`) where it applies (CPU,
            float32 or half, ``exact``, no gradient needed) and is compiled, the torch ops
            otherwise; ``'torch'``: always the torch ops; ``'native'``: the kernel, or an error
            where it cannot be used. Both compute the same forward pass (to float rounding).
        intensity_max: None: ``x`` is enhanced as it is. A number ``> 0``: ``x`` holds
            intensities on ``[0, intensity_max]`` (e.g. 255 for ``HUWindow``'s output); the
            enhancement is that of ``(x / intensity_max).clamp(0, 1)`` and is returned
            multiplied by ``intensity_max`` (both in float32), on the input's scale. The fused
            kernel computes exactly these values without the two extra passes over the batch.

    Returns:
        ``(B, C, H, W)`` in ``[0, 1]`` (``[0, intensity_max]`` with ``intensity_max``), dtype and
        device of ``x``; with ``return_lambda``, also ``(B, C)`` float64 ``lam`` per channel
        (detached).
    """
    check_images(x)
    levels = check_levels(levels)
    check_intensity_max(intensity_max)
    batch, channels, height, width = x.shape
    work = as_working_precision(x)
    clip = check_clip_limit(clip_limit, batch, work).repeat_interleave(channels)
    grid = check_grid_size(grid_size, batch, work).repeat_interleave(channels)
    if lam_candidates is None:
        lam_candidates = lambda_candidates(device=x.device)

    images = work.reshape(batch * channels, height, width)
    if use_native(backend, work, clip, grid, exact=exact):
        depth = default_levels(height, width) if levels is None else levels
        out, lam = glcae_native(images, clip, grid, lam_candidates, depth, intensity_max)
    else:

        def run(images: Tensor, clip: Tensor, grid: Tensor) -> tuple[Tensor, Tensor]:
            return _glcae_images(images, clip, grid, levels, exact, lam_candidates)

        if intensity_max is not None:
            images = (images / intensity_max).clamp(0, 1)
        out, lam = map_chunks(run, images, clip, grid)
        if intensity_max is not None:
            out = out * intensity_max
    out = out.view(batch, channels, height, width).to(x.dtype)
    if return_lambda:
        return out, lam.view(batch, channels)
    return out
