"""RoIAlign as weighted row gathers (``torch.nn.functional.embedding_bag``): mmcv's RoIAlign,
faster to train on the CPU."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn
from torch.autograd.function import once_differentiable
from torch.nn.modules.utils import _pair


def _axis_samples(
    start: Tensor, length: Tensor, size: int, bins: int, sampling_ratio: int
) -> tuple[Tensor, Tensor]:
    """Bilinear taps along one axis of every RoI, as mmcv's RoIAlign places them.

    Args:
        start: ``(R,)`` first edge of each RoI on this axis, in feature-map pixels.
        length: ``(R,)`` RoI extent on this axis, in feature-map pixels.
        size: the feature map's size on this axis, in pixels.
        bins: output bins on this axis.
        sampling_ratio: samples a bin; 0 takes ``ceil(length / bins)`` for each RoI.

    Returns:
        ``index`` ``(R, bins, S, 2)`` int64 and ``weight`` ``(R, bins, S, 2)``: the two
        neighbouring pixels of each of the ``S`` samples of a bin and their interpolation
        weights, divided by the RoI's sample count on this axis. Samples mmcv skips (beyond
        ``[-1, size]``, or past an RoI's own count when ``sampling_ratio`` is 0) weigh 0.
    """
    if sampling_ratio > 0:
        count = torch.full_like(start, sampling_ratio, dtype=torch.long)
    else:
        count = torch.ceil(length / bins).clamp(min=0).long()
    samples = max(int(count.max()), 1)
    bin_length = (length / bins)[:, None, None]
    step = bin_length / count.clamp(min=1)[:, None, None]
    bin_index = torch.arange(bins, dtype=start.dtype, device=start.device)[None, :, None]
    sample_index = torch.arange(samples, dtype=start.dtype, device=start.device)
    position = start[:, None, None] + bin_index * bin_length + (sample_index + 0.5) * step
    used = (sample_index < count[:, None, None]) & (position >= -1.0) & (position <= size)
    position = position.clamp(min=0)
    low = position.floor().long().clamp(max=size - 1)
    high = (low + 1).clamp(max=size - 1)  # past the last pixel both taps are that pixel
    fraction = position - low
    scale = used.to(position.dtype) / count.clamp(min=1)[:, None, None]
    index = torch.stack([low, high], dim=-1)
    weight = torch.stack([(1 - fraction) * scale, fraction * scale], dim=-1)
    return index, weight


class _WeightedRowSum(torch.autograd.Function):
    """``out[i] = sum_k weight[k] * rows[pixel[k]]`` over cell ``i``'s taps, and its transpose.

    Both directions are :func:`torch.nn.functional.embedding_bag` calls (threaded on the CPU):
    the backward sorts the taps by pixel once and sums each pixel's weighted output
    gradients, instead of embedding_bag's own scatter-add backward (slower).
    """

    @staticmethod
    def forward(ctx, rows: Tensor, pixel: Tensor, weight: Tensor, taps_per_cell: Tensor) -> Tensor:
        offsets = torch.cumsum(taps_per_cell, dim=0) - taps_per_cell
        ctx.save_for_backward(pixel, weight, taps_per_cell)
        ctx.num_rows = rows.shape[0]
        return F.embedding_bag(
            pixel, rows, offsets=offsets, per_sample_weights=weight.to(rows.dtype), mode='sum'
        )

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_cells: Tensor) -> tuple[Tensor | None, None, None, None]:
        pixel, weight, taps_per_cell = ctx.saved_tensors
        cell = torch.repeat_interleave(
            torch.arange(taps_per_cell.numel(), device=pixel.device), taps_per_cell
        )
        pixel, order = torch.sort(pixel, stable=True)
        taps_per_row = torch.bincount(pixel, minlength=ctx.num_rows)
        offsets = torch.cumsum(taps_per_row, dim=0) - taps_per_row
        grad_rows = F.embedding_bag(
            cell[order],
            grad_cells.contiguous(),
            offsets=offsets,
            per_sample_weights=weight[order].to(grad_cells.dtype),
            mode='sum',
        )
        return grad_rows, None, None, None


def gather_roi_align(
    features: Tensor,
    rois: Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = 0,
    aligned: bool = True,
) -> Tensor:
    """Average-mode RoIAlign, the same function as :func:`mmcv.ops.roi_align`.

    Every output cell is a weighted sum of at most ``4 * S_y * S_x`` feature-map pixels, the
    bilinear taps of its samples. Those (pixel, weight) lists are built once for all channels
    and summed by :func:`torch.nn.functional.embedding_bag` over the channels-last feature
    map; the backward sums, for each pixel, the weighted gradients of the cells that tap it.
    mmcv's CPU kernels recompute the taps for every channel on one thread, so this is faster
    on the CPU (``projects/enhancement_benchmark/tools/benchmark_roi_align.py`` times both).

    Args:
        features: ``(N, C, H, W)`` feature maps.
        rois: ``(R, 5)`` boxes ``(batch index, x1, y1, x2, y2)`` in input-image pixels.
        output_size: bins ``(out_h, out_w)``, or one int for both.
        spatial_scale: feature-map pixels per input pixel (1 / stride).
        sampling_ratio: samples a bin along each axis; 0: ``ceil(roi_size / bins)`` per RoI.
        aligned: shift the RoI by -0.5 pixel (mmcv's ``aligned=True``, Detectron2's).

    Returns:
        ``(R, C, out_h, out_w)``, differentiable with respect to ``features`` (not ``rois``).
    """
    out_h, out_w = _pair(output_size)
    batch, channels, height, width = features.shape
    num_rois = rois.shape[0]
    if num_rois == 0:
        return features.new_zeros(0, channels, out_h, out_w)
    rois = rois.detach().to(features.dtype)
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (rois[:, i] * spatial_scale - offset for i in range(1, 5))
    roi_width, roi_height = x2 - x1, y2 - y1
    if not aligned:  # mmcv's legacy mode makes every RoI at least one pixel
        roi_width, roi_height = roi_width.clamp(min=1.0), roi_height.clamp(min=1.0)
    index_y, weight_y = _axis_samples(y1, roi_height, height, out_h, sampling_ratio)
    index_x, weight_x = _axis_samples(x1, roi_width, width, out_w, sampling_ratio)
    # (R, out_h, out_w, S_y, 2, S_x, 2): every tap of every bin.
    first_pixel = (rois[:, 0].long() * (height * width))[:, None, None, None, None, None, None]
    pixel = (
        first_pixel
        + index_y[:, :, None, :, :, None, None] * width
        + index_x[:, None, :, None, None, :, :]
    )
    weight = weight_y[:, :, None, :, :, None, None] * weight_x[:, None, :, None, None, :, :]
    taps = pixel.shape[3] * 2 * pixel.shape[5] * 2
    pixel, weight = pixel.reshape(-1, taps), weight.reshape(-1, taps)
    if sampling_ratio == 0:  # RoIs differ in sample count: drop the unused taps
        kept = weight != 0
        taps_per_cell = kept.sum(dim=1)
        pixel, weight = pixel[kept], weight[kept]
    else:
        taps_per_cell = torch.full_like(pixel[:, 0], taps)
    rows = features.permute(0, 2, 3, 1).reshape(batch * height * width, channels)
    pooled = _WeightedRowSum.apply(rows, pixel.reshape(-1), weight.reshape(-1), taps_per_cell)
    return pooled.reshape(num_rois, out_h, out_w, channels).permute(0, 3, 1, 2)


@MODELS.register_module()
class GatherRoIAlign(nn.Module):
    """:func:`gather_roi_align` as a RoI layer; the arguments of :class:`mmcv.ops.RoIAlign`.

    A drop-in for ``roi_layer=dict(type='RoIAlign', ...)`` in a
    :class:`~mmlesion.models.roi_extractors.RegisteredLayerRoIExtractor`. Average pooling only:
    ``pool_mode='max'`` raises. Memory: ``R * out_h * out_w * 4 * S_y * S_x`` taps (an int64
    and a float each); with ``sampling_ratio=0`` the sample counts ``S`` follow the largest RoI
    of the call, so large images want a fixed ratio (the demo detector uses 2).
    """

    def __init__(
        self,
        output_size: int | tuple[int, int],
        spatial_scale: float = 1.0,
        sampling_ratio: int = 0,
        pool_mode: str = 'avg',
        aligned: bool = True,
    ) -> None:
        super().__init__()
        if pool_mode != 'avg':
            raise ValueError(f"GatherRoIAlign: pool_mode must be 'avg', got {pool_mode!r}")
        if sampling_ratio < 0:
            raise ValueError(f'GatherRoIAlign: sampling_ratio must be >= 0, got {sampling_ratio}')
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.aligned = aligned

    def forward(self, features: Tensor, rois: Tensor) -> Tensor:
        """``(N, C, H, W)`` maps and ``(R, 5)`` RoIs -> ``(R, C, out_h, out_w)``."""
        return gather_roi_align(
            features, rois, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned
        )

    def extra_repr(self) -> str:
        return (
            f'output_size={self.output_size}, spatial_scale={self.spatial_scale}, '
            f'sampling_ratio={self.sampling_ratio}, aligned={self.aligned}'
        )
