"""The per-image regressor of the CT-native family: HU window level and width, denoising."""

from __future__ import annotations

import math

import torch
from mmdet.registry import MODELS
from torch import nn

from .key_slice_regressor import BoundedOutput, Head, KeySliceRegressor, fc_stack, head_widths


@MODELS.register_module()
class WindowDenoiseRegressor(KeySliceRegressor):
    """Predict, per image, the window level offset (HU), the window width scale and the
    denoising strength of :func:`~mmlesion.enhancement.window_denoise`.

    Architecture: that of :class:`~.CLAHEParamRegressor` (the key slice → ResNet trunk → FC to
    32), with three heads of ``num_fc_layers`` FC layers:

    - level offset in ``[-max_level_offset_hu, max_level_offset_hu]`` HU, a tanh-shaped squash
      (:class:`BoundedOutput` over a range symmetric around 0); 0 at the start;
    - width scale in ``width_scale_range``, squashed in log space; 1 at the start (exactly 1
      when the range is symmetric in log space, as the default ``(0.5, 2.0)``);
    - denoising strength ``beta`` through a sigmoid into (0, 1); ``denoise_init`` at the start.

    The last layer of each head starts with zero weights, so an untrained regressor gives every
    image (0 HU, 1, ``denoise_init``): the identity but for a small denoising step, and training
    moves away from it.

    Args:
        input_size: side of the square regressor input in pixels.
        depth: ResNet depth.
        base_channels: ResNet width (64 for the real ResNet-18; smaller for CPU demos).
        num_fc_layers: FC layers per head.
        max_level_offset_hu: the level offset's bound ``L`` in HU, > 0.
        width_scale_range: (smallest, largest) width scale, with ``0 < low < 1 < high``.
        denoise_init: ``beta`` an untrained regressor outputs, in (0, 1).
        init_log_std: initial log standard deviation of the scores' Gaussian policy for the
            ``reinforce`` objective.
        trunk_init_cfg: ``init_cfg`` of the trunk; ``None`` = random.
    """

    def __init__(
        self,
        input_size: int = 512,
        depth: int = 18,
        base_channels: int = 64,
        num_fc_layers: int = 2,
        max_level_offset_hu: float = 100.0,
        width_scale_range: tuple[float, float] = (0.5, 2.0),
        denoise_init: float = 0.02,
        init_log_std: float = math.log(0.5),
        trunk_init_cfg: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(input_size, depth, base_channels, trunk_init_cfg, init_cfg)
        if not max_level_offset_hu > 0:
            raise ValueError(f'max_level_offset_hu must be > 0 HU, got {max_level_offset_hu}')
        low, high = width_scale_range
        if not 0 < low < 1 < high:
            raise ValueError(
                f"width_scale_range must satisfy 0 < low < 1 < high (1 = the pipeline's "
                f'window), got {tuple(width_scale_range)}'
            )
        if not 0 < denoise_init < 1:
            raise ValueError(f'denoise_init must lie strictly inside (0, 1), got {denoise_init}')
        self.level_head = fc_stack(head_widths(num_fc_layers))
        self.width_head = fc_stack(head_widths(num_fc_layers))
        self.denoise_head = fc_stack(head_widths(num_fc_layers))
        bound = float(max_level_offset_hu)
        self.level_output = BoundedOutput(-bound, bound)
        self.width_output = BoundedOutput(low, high, log_space=True)
        self.denoise_output = BoundedOutput(0.0, 1.0)  # a plain sigmoid
        self.denoise_init = float(denoise_init)
        self.log_std = nn.Parameter(torch.full((3,), float(init_log_std)))
        self._reset_heads()

    def heads(self) -> list[Head]:
        """level offset (HU), width scale, denoising strength."""
        return [
            Head('level_offset_hu', self.level_head, self.level_output, 0.0),
            Head('width_scale', self.width_head, self.width_output, 1.0),
            Head('denoise', self.denoise_head, self.denoise_output, self.denoise_init),
        ]
