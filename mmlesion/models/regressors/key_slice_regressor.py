"""What every per-image parameter regressor shares: a ResNet that reads the key slice, bounded
heads that start at a chosen value, and a Gaussian policy over their scores."""

from __future__ import annotations

import itertools
import math
import warnings
from typing import NamedTuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from .resnet_trunk import resnet_trunk


def fc_stack(widths: list[int]) -> nn.Sequential:
    """FC layers through ``widths`` with ReLU between (not after the last)."""
    layers: list[nn.Module] = []
    for i, (w_in, w_out) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(w_in, w_out))
        if i < len(widths) - 2:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def head_widths(num_fc_layers: int, in_width: int = 32, hidden: int = 12) -> list[int]:
    """Layer widths of one head: 2 layers give ``32→12→1`` (the paper), 4 give
    ``32→12→12→12→1`` (the paper's ablation)."""
    if num_fc_layers < 1:
        raise ValueError(f'num_fc_layers must be >= 1, got {num_fc_layers}')
    return [in_width] + [hidden] * (num_fc_layers - 1) + [1]


class BoundedOutput(nn.Module):
    """Squash an unbounded score into ``[low, high]`` with a sigmoid, linearly or in log space.

    The paper's regressor ends in a bare ReLU, which can output 0: no valid CLAHE (a zero clip
    limit disables clipping, a zero grid has no tile). A smooth squashing keeps every output
    valid and keeps a gradient everywhere.

    ``log_space=True`` squashes ``log(value)`` into ``[log low, log high]``: a value's step per
    unit of score is proportional to the value, so a wide range (clip limit 1..32) keeps the
    same relative resolution at 2 as at 16, and the sigmoid's flat ends lie far from the middle
    of the range in log terms (a linear squash over [1, 8] has ~43x less slope at 7.98 than at
    2.0, which pinned the demo regressor at the top of its range).

    A linear range symmetric around 0 (``[-L, L]``) is ``L * tanh(score / 2)``: score 0 gives
    exactly 0; a log range symmetric around 1 (``[1 / s, s]``) gives exactly 1 at score 0.
    """

    def __init__(self, low: float, high: float, log_space: bool = False):
        super().__init__()
        if not low < high:
            raise ValueError(f'output range must satisfy low < high, got ({low}, {high})')
        if log_space and low <= 0:
            raise ValueError(f'a log-space output range must be positive, got ({low}, {high})')
        self.low = float(low)
        self.high = float(high)
        self.log_space = log_space

    def _ends(self) -> tuple[float, float]:
        if self.log_space:
            return math.log(self.low), math.log(self.high)
        return self.low, self.high

    def forward(self, score: torch.Tensor) -> torch.Tensor:
        low, high = self._ends()
        value = low + (high - low) * torch.sigmoid(score)
        return value.exp() if self.log_space else value

    def inverse(self, value: float) -> float:
        """The score that maps to ``value`` (inside the range)."""
        low, high = self._ends()
        mapped = math.log(value) if self.log_space and value > 0 else value
        p = (mapped - low) / (high - low)
        if not 0 < p < 1:
            raise ValueError(f'{value} is not strictly inside ({self.low}, {self.high})')
        return math.log(p / (1 - p))

    def inverse_tensor(self, value: torch.Tensor) -> torch.Tensor:
        """:meth:`inverse` of a tensor of values strictly inside the range."""
        low, high = self._ends()
        mapped = value.log() if self.log_space else value
        return torch.logit((mapped - low) / (high - low))


class Head(NamedTuple):
    """One output of a :class:`KeySliceRegressor`."""

    name: str
    layers: nn.Sequential
    output: BoundedOutput
    init_value: float


class KeySliceRegressor(BaseModule):
    """Base of the regressors that predict per-image enhancement parameters from the key slice.

    The 1-channel key slice ``(B, 1, H, W)`` in [0, 1], resized to ``input_size`` → 3×3 conv to
    3 channels, BN, ReLU → ResNet trunk → global average pooling → FC to 32, ReLU → one head
    per parameter (built by the subclass, listed by :meth:`heads`), each squashed into its range
    by a :class:`BoundedOutput`. Each head starts at its initial value for every image (last
    layer's weights zero, bias at the inverse squash). ``log_std`` (one per head, set by the
    subclass after its heads) is the spread of the Gaussian policy over the scores that
    :meth:`sample` draws from (the ``reinforce`` objective).
    """

    def __init__(
        self,
        input_size: int,
        depth: int,
        base_channels: int,
        trunk_init_cfg: dict | None,
        init_cfg: dict | None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.input_size = input_size
        self.stem = nn.Sequential(
            nn.Conv2d(1, 3, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(3),
            nn.ReLU(inplace=True),
        )
        self.trunk, trunk_width = resnet_trunk(depth, 3, base_channels, trunk_init_cfg)
        self.embed = nn.Sequential(nn.Linear(trunk_width, 32), nn.ReLU(inplace=True))
        self._warned_non_finite = False

    def heads(self) -> list[Head]:
        """The outputs, in order."""
        raise NotImplementedError

    @property
    def num_outputs(self) -> int:
        return len(self.heads())

    def _reset_heads(self) -> None:
        for head in self.heads():
            last = head.layers[-1]
            nn.init.zeros_(last.weight)
            nn.init.constant_(last.bias, head.output.inverse(head.init_value))

    def init_weights(self) -> None:
        super().init_weights()
        # BaseModule's init may touch the heads through init_cfg: restore the documented start.
        self._reset_heads()

    def scores(self, key_slice: torch.Tensor) -> torch.Tensor:
        """Unbounded scores ``(B, num_outputs)`` for ``key_slice`` ``(B, 1, H, W)`` in [0, 1]."""
        if key_slice.ndim != 4 or key_slice.shape[1] != 1:
            raise ValueError(f'expected a (B, 1, H, W) key slice, got {tuple(key_slice.shape)}')
        x = key_slice
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(
                x, size=(self.input_size, self.input_size), mode='bilinear', align_corners=False
            )
        stem = self.stem(x)
        if stem.device.type == 'cpu':
            # torch's CPU max pooling (the trunk's stem) is much slower on NCHW than on
            # channels-last tensors; the values are the same.
            stem = stem.contiguous(memory_format=torch.channels_last)
        features = self.trunk(stem)[-1]
        embedding = self.embed(torch.flatten(F.adaptive_avg_pool2d(features, 1), 1))
        scores = torch.cat([head.layers(embedding) for head in self.heads()], dim=1)
        return self._finite(scores)

    def to_params(self, scores: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Scores ``(B, num_outputs)`` → one ``(B,)`` parameter per head, inside its range."""
        return tuple(head.output(scores[:, i]) for i, head in enumerate(self.heads()))

    def to_scores(self, *params: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_params`: the scores ``(B, num_outputs)`` of one ``(B,)``
        parameter per head, each strictly inside its range (e.g. a policy draw's)."""
        heads = self.heads()
        if len(params) != len(heads):
            raise ValueError(
                f'expected {len(heads)} parameters ({", ".join(h.name for h in heads)}), '
                f'got {len(params)}'
            )
        return torch.stack(
            [h.output.inverse_tensor(p) for h, p in zip(heads, params, strict=True)], 1
        )

    def forward(self, key_slice: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Deterministic parameters, one ``(B,)`` tensor per head."""
        return self.to_params(self.scores(key_slice))

    def sample(self, key_slice: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Draw parameters from the Gaussian policy over scores (for ``reinforce``).

        Returns:
            One ``(B,)`` parameter per head (without gradient), and last the log probability
            ``(B,)`` of the drawn scores, differentiable in the regressor's weights.
        """
        mean = self.scores(key_slice)
        std = self.log_std.exp().expand_as(mean)
        policy = torch.distributions.Normal(mean, std)
        drawn = policy.sample()
        return (*self.to_params(drawn), policy.log_prob(drawn).sum(dim=1))

    def _finite(self, scores: torch.Tensor) -> torch.Tensor:
        """Replace NaN/Inf scores by the initial scores, warning once."""
        bad = ~torch.isfinite(scores)
        if not bad.any():
            return scores
        heads = self.heads()
        if not self._warned_non_finite:
            self._warned_non_finite = True
            start = {h.name: h.init_value for h in heads}
            warnings.warn(
                f'{type(self).__name__} produced NaN/Inf scores; those are replaced by the '
                f'initial parameters {start} (warned once)',
                RuntimeWarning,
                stacklevel=2,
            )
        fallback = scores.new_tensor([h.output.inverse(h.init_value) for h in heads])
        return torch.where(bad, fallback.expand_as(scores), scores)
