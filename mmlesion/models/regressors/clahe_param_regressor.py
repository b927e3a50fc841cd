"""The per-image CLAHE parameter regressor: a ResNet-18 that looks at the key slice."""

from __future__ import annotations

import math

import torch
from mmdet.registry import MODELS
from torch import nn

from .key_slice_regressor import BoundedOutput, Head, KeySliceRegressor, fc_stack, head_widths

__all__ = ['BoundedOutput', 'CLAHEParamRegressor', 'head_widths']


@MODELS.register_module()
class CLAHEParamRegressor(KeySliceRegressor):
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

    A gated regressor also keeps the buffer ``gate_open`` (1 = the head's ``alpha``, 0 = ``alpha``
    is 0 for every image), saved with its weights: :func:`~mmlesion.apis.check_gate` closes it
    in a checkpoint whose enhancement did not beat the detector alone on validation, and the
    preprocessor then hands the detector its inputs untouched.

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
        super().__init__(input_size, depth, base_channels, trunk_init_cfg, init_cfg)
        self.clip_head = fc_stack(head_widths(num_fc_layers))
        self.grid_head = fc_stack(head_widths(num_fc_layers))
        self.clip_output = BoundedOutput(*clip_range, log_space=log_outputs)
        self.grid_output = BoundedOutput(*grid_range, log_space=log_outputs)
        self.init_params = (float(init_params[0]), float(init_params[1]))
        self.gate = bool(gate)
        if self.gate:
            if not 0 < gate_init < 1:
                raise ValueError(f'gate_init must lie strictly inside (0, 1), got {gate_init}')
            # Built only with the gate, so that a gate-off regressor keeps the paper's
            # state dict (old checkpoints load strictly).
            self.gate_head = fc_stack(head_widths(num_fc_layers))
            self.gate_output = BoundedOutput(0.0, 1.0)  # a plain sigmoid
            self.register_buffer('gate_open', torch.ones(()))
        self.gate_init = float(gate_init)
        # The scores' policy spread (clip, grid[, gate]) for the reinforce objective.
        self.log_std = nn.Parameter(torch.full((self.num_outputs,), float(init_log_std)))
        self._reset_heads()

    def heads(self) -> list[Head]:
        """clip, grid, and with the gate alpha."""
        heads = [
            Head('clip', self.clip_head, self.clip_output, self.init_params[0]),
            Head('grid', self.grid_head, self.grid_output, self.init_params[1]),
        ]
        if self.gate:
            heads.append(Head('alpha', self.gate_head, self.gate_output, self.gate_init))
        return heads

    def to_params(self, scores: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """As :meth:`KeySliceRegressor.to_params`; a closed gate (``gate_open = 0``) makes
        every ``alpha`` exactly 0."""
        params = super().to_params(scores)
        if not self.gate:
            return params
        clip, grid, alpha = params
        return clip, grid, alpha * self.gate_open

    def set_gate_open(self, is_open: bool) -> None:
        """Open (the head's ``alpha``) or close (``alpha = 0``) the gate.

        Raises:
            ValueError: the regressor has no gate.
        """
        if not self.gate:
            raise ValueError('the regressor has no blend gate (gate=False): nothing to close')
        self.gate_open.fill_(1.0 if is_open else 0.0)
