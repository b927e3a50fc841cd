"""The per-image CLAHE parameter regressor: a ResNet-18 that looks at the key slice."""

from __future__ import annotations

import itertools
import math
import warnings

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import nn

from .resnet_trunk import resnet_trunk


def _fc_stack(widths: list[int]) -> nn.Sequential:
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


@MODELS.register_module()
class CLAHEParamRegressor(BaseModule):
    """Predict, per image, the CLAHE clip limit and grid size of the GLCAE enhancement, and
    optionally the weight ``alpha`` of a blend gate.

    Architecture (the paper's): the 1-channel key slice resized to ``input_size`` → 3×3 conv to
    3 channels, BN, ReLU → ResNet trunk (mmdet ``ResNet``, depth 18) → global average pooling →
    FC to 32, ReLU → two heads of ``num_fc_layers`` FC layers, one for the clip limit and one
    for the grid size → each squashed into its range by :class:`BoundedOutput`.

    The heads start at ``init_params`` for every image (last layer's weights zero, bias at the
    inverse squash), so an untrained regressor is exactly the fixed GLCAE baseline and training
    moves away from it.

    ``gate=True`` adds a third head, built like the other two, whose score goes through a
    sigmoid to ``alpha`` in (0, 1): the preprocessor then feeds the detector
    ``x + alpha * (GLCAE(x) - x)`` (:func:`~mmlesion.enhancement.blend`). The GLCAE family has
    no member that leaves an image as it is; the gate adds one (``alpha -> 0``). It starts at
    ``gate_init`` for every image, near the detector alone. ``gate=False`` (the default) is the
    paper's two-output regressor, with the same weights and outputs as before the gate existed.

    Args:
        input_size: side of the square regressor input in pixels (512 in the paper).
        depth: ResNet depth (18).
        base_channels: ResNet width (64 for the real ResNet-18; smaller for CPU demos).
        num_fc_layers: FC layers per head (2; the ablation uses 4).
        clip_range: clip-limit range (OpenCV's ``clipLimit``).
        grid_range: grid-size range (tiles per side).
        log_outputs: squash both outputs in log space (:class:`BoundedOutput`); the paper's
            configs keep ``False`` (a linear sigmoid squash), the demo uses ``True`` with clip
            ``[1, 32]`` so that the validation-tuned clip limits lie well inside the range.
        init_params: (clip limit, grid size) an untrained regressor outputs.
        gate: add the blend gate's head; the outputs become (clip, grid, alpha).
        gate_init: ``alpha`` an untrained gated regressor outputs, in (0, 1).
        init_log_std: initial log standard deviation of the scores' Gaussian policy for the
            ``reinforce`` objective (learned; unused by deterministic prediction).
        trunk_init_cfg: ``init_cfg`` of the trunk, e.g.
            ``dict(type='Pretrained', checkpoint='torchvision://resnet18')``; ``None`` = random.
    """

    def __init__(
        self,
        input_size: int = 512,
        depth: int = 18,
        base_channels: int = 64,
        num_fc_layers: int = 2,
        clip_range: tuple[float, float] = (1.0, 8.0),
        grid_range: tuple[float, float] = (2.0, 16.0),
        init_params: tuple[float, float] = (2.0, 8.0),
        log_outputs: bool = False,
        gate: bool = False,
        gate_init: float = 0.02,
        init_log_std: float = math.log(0.5),
        trunk_init_cfg: dict | None = None,
        init_cfg: dict | None = None,
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
        self.clip_head = _fc_stack(head_widths(num_fc_layers))
        self.grid_head = _fc_stack(head_widths(num_fc_layers))
        self.clip_output = BoundedOutput(*clip_range, log_space=log_outputs)
        self.grid_output = BoundedOutput(*grid_range, log_space=log_outputs)
        self.init_params = (float(init_params[0]), float(init_params[1]))
        self.gate = bool(gate)
        if self.gate:
            if not 0 < gate_init < 1:
                raise ValueError(f'gate_init must lie strictly inside (0, 1), got {gate_init}')
            # Built only with the gate, so that a gate-off regressor keeps the paper's
            # state dict (old checkpoints load strictly).
            self.gate_head = _fc_stack(head_widths(num_fc_layers))
            self.gate_output = BoundedOutput(0.0, 1.0)  # a plain sigmoid
        self.gate_init = float(gate_init)
        # The scores' policy spread (clip, grid[, gate]) for the reinforce objective.
        self.log_std = nn.Parameter(torch.full((self.num_outputs,), float(init_log_std)))
        self._warned_non_finite = False
        self._reset_heads()

    @property
    def num_outputs(self) -> int:
        """2 (clip, grid), or 3 (clip, grid, alpha) with the gate."""
        return 3 if self.gate else 2

    def _heads(self) -> list[tuple[nn.Sequential, BoundedOutput, float]]:
        """(head, squashing, initial value) of each output, in output order."""
        heads = [
            (self.clip_head, self.clip_output, self.init_params[0]),
            (self.grid_head, self.grid_output, self.init_params[1]),
        ]
        if self.gate:
            heads.append((self.gate_head, self.gate_output, self.gate_init))
        return heads

    def _reset_heads(self) -> None:
        for head, output, value in self._heads():
            last = head[-1]
            nn.init.zeros_(last.weight)
            nn.init.constant_(last.bias, output.inverse(value))

    def init_weights(self) -> None:
        super().init_weights()
        # BaseModule's init may touch the heads through init_cfg: restore the documented start.
        self._reset_heads()

    def scores(self, key_slice: torch.Tensor) -> torch.Tensor:
        """Unbounded scores ``(B, num_outputs)`` (clip, grid[, gate]) for ``key_slice``
        ``(B, 1, H, W)`` in [0, 1]."""
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
        scores = torch.cat([head(embedding) for head, _, _ in self._heads()], dim=1)
        return self._finite(scores)

    def to_params(self, scores: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Scores ``(B, num_outputs)`` → clip limit ``(B,)``, grid size ``(B,)`` inside their
        ranges, and with the gate ``alpha`` ``(B,)`` in (0, 1)."""
        return tuple(output(scores[:, i]) for i, (_, output, _) in enumerate(self._heads()))

    def to_scores(self, *params: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_params`: the scores ``(B, num_outputs)`` of clip ``(B,)``, grid
        ``(B,)`` (and alpha ``(B,)`` with the gate) strictly inside their ranges (e.g. the
        parameters a policy draw gave)."""
        if len(params) != self.num_outputs:
            raise ValueError(
                f'expected {self.num_outputs} parameters (clip, grid{", alpha" * self.gate}), '
                f'got {len(params)}'
            )
        outputs = [output for _, output, _ in self._heads()]
        return torch.stack([o.inverse_tensor(p) for o, p in zip(outputs, params, strict=True)], 1)

    def forward(self, key_slice: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Deterministic parameters: clip limit ``(B,)``, (soft) grid size ``(B,)``, and with
        the gate ``alpha`` ``(B,)``."""
        return self.to_params(self.scores(key_slice))

    def sample(self, key_slice: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Draw parameters from the Gaussian policy over scores (for ``reinforce``).

        Returns:
            clip limit ``(B,)``, grid size ``(B,)``, with the gate ``alpha`` ``(B,)`` (all
            without gradient), and last the log probability ``(B,)`` of the drawn scores,
            differentiable in the regressor's weights.
        """
        mean = self.scores(key_slice)
        std = self.log_std.exp().expand_as(mean)
        policy = torch.distributions.Normal(mean, std)
        drawn = policy.sample()
        return (*self.to_params(drawn), policy.log_prob(drawn).sum(dim=1))

    def _finite(self, scores: torch.Tensor) -> torch.Tensor:
        """Replace NaN/Inf scores by the initial scores (``init_params``, ``gate_init``),
        warning once."""
        bad = ~torch.isfinite(scores)
        if not bad.any():
            return scores
        if not self._warned_non_finite:
            self._warned_non_finite = True
            warnings.warn(
                'CLAHEParamRegressor produced NaN/Inf scores; those are replaced by the '
                f'init_params {self.init_params} (warned once)',
                RuntimeWarning,
                stacklevel=2,
            )
        fallback = scores.new_tensor(
            [output.inverse(value) for _, output, value in self._heads()]
        ).expand_as(scores)
        return torch.where(bad, fallback, scores)
