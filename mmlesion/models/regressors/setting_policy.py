"""A policy over K discrete enhancement settings, identity included: a small ResNet that looks at
the whole slice, at full resolution, and scores each setting."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import nn

from .resnet_trunk import resnet_trunk

#: One enhancement setting: ``None`` (identity, the image as it is) or ``(clip limit, grid size)``.
EnhancementSetting = tuple[float, float] | None


def normalise_settings(settings: Sequence) -> list[EnhancementSetting]:
    """``settings`` as a list of ``None`` or ``(clip, grid)`` float pairs, checked.

    Raises:
        ValueError: fewer than two settings, an entry that is neither ``None`` nor a pair of
            positive numbers, or a setting listed twice.
    """
    out: list[EnhancementSetting] = []
    for i, setting in enumerate(settings):
        if setting is None:
            out.append(None)
            continue
        if len(setting) != 2 or not all(float(v) > 0 for v in setting):
            raise ValueError(
                f'settings[{i}] must be None (identity) or (clip limit, grid size) > 0, got '
                f'{setting!r}'
            )
        out.append((float(setting[0]), float(setting[1])))
    if len(out) < 2:
        raise ValueError(f'settings must hold at least two settings to choose from, got {out}')
    if len(set(out)) != len(out):
        raise ValueError(f'settings lists a setting twice: {out}')
    return out


def setting_label(setting: EnhancementSetting) -> str:
    """``'identity'`` or ``'clip2_grid8'``: a setting's name in reports."""
    return 'identity' if setting is None else f'clip{setting[0]:g}_grid{setting[1]:g}'


def local_std(x: torch.Tensor, window: int) -> torch.Tensor:
    """``(B, 1, H, W)`` local deviation of ``x`` ``(B, 1, H, W)``: the root mean square, over
    each pixel's ``window × window`` neighbourhood (shrunk at the borders), of ``x`` minus its
    own local mean. On a flat region with noise it is the noise's standard deviation (times
    ``sqrt(1 − 1/window²)``); at an edge it grows with the edge.

    The residual is formed first, so the result keeps a clean slice's noise (a standard
    deviation of about 0.01 in [0, 1]) in float32, where ``E[x²] − E[x]²`` would lose it to
    rounding."""
    pool = dict(kernel_size=window, stride=1, padding=window // 2, count_include_pad=False)
    residual = x - F.avg_pool2d(x, **pool)
    return F.avg_pool2d(residual * residual, **pool).sqrt()


@MODELS.register_module()
class SettingPolicy(BaseModule):
    """Score each of ``K`` enhancement settings for an image: ``π(x) = softmax(logits(x))``.

    Trained on a table of the frozen detector's per-image loss under every setting, by
    :func:`~mmlesion.models.losses.expected_setting_loss`; at inference the setting of the
    largest logit is applied (:class:`~mmlesion.models.data_preprocessors.
    PolicyEnhancementPreprocessor`).

    What it sees, and why: the synthetic slices differ by acquisition (noise of 5–12 HU on clean
    slices and 30–80 HU on noisy ones, low contrast, shading). In the wide window (2074 HU over
    255 gray levels) and downsampled to 128 px, as :class:`CLAHEParamRegressor` sees it, clean
    noise is a fraction of a gray level against a lesion contrast of a few: the difference that
    should decide the setting is averaged away before the first convolution. So the policy takes
    every channel of the detector's input (soft-tissue window, wide window, local contrast),
    at the input's own resolution unless ``input_size`` is set (the trunk's first, strided
    convolution is the first place where pixels are combined, with learned weights), and one
    more channel: the local standard deviation (``local_std_window`` pixels a side) of channel
    ``local_std_channel``, the soft-tissue window by default, where noise spans about five times
    more gray levels than in the wide window. That channel is the per-pixel noise-plus-edge
    level, an explicit measure the trunk would otherwise have to learn to compute.

    Architecture: those channels → mmdet ``ResNet`` (``depth``, ``base_channels``) → global
    average pooling → FC to ``hidden``, ReLU → FC to ``K`` logits. The last layer starts at
    zero: an untrained policy gives every setting the same probability, and its argmax is the
    first setting (the configs put identity first, so an untrained policy is the detector alone).

    Args:
        settings: the ``K`` settings, each ``None`` (identity) or ``(clip limit, grid size)``.
        in_channels: channels of the images it is given (the detector's input channels).
        channels: which of them it looks at (indices); ``None`` = all.
        local_std_channel: the channel (an index of the images) whose local standard deviation
            is appended; ``None`` appends none.
        local_std_window: side of the local standard deviation's window, pixels (odd).
        input_size: side of the square input the images are resized to; ``None`` keeps their
            resolution (the images of a batch must then share a size).
        depth: ResNet depth (18).
        base_channels: ResNet width (64 for the real ResNet-18).
        hidden: width of the hidden FC layer.
        trunk_init_cfg: ``init_cfg`` of the trunk; ``None`` = random.
    """

    def __init__(
        self,
        settings: Sequence,
        in_channels: int = 3,
        channels: Sequence[int] | None = None,
        local_std_channel: int | None = 0,
        local_std_window: int = 5,
        input_size: int | None = None,
        depth: int = 18,
        base_channels: int = 16,
        hidden: int = 32,
        trunk_init_cfg: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.settings = normalise_settings(settings)
        self.in_channels = int(in_channels)
        self.channels = list(range(self.in_channels)) if channels is None else list(channels)
        for name, indices in (
            ('channels', self.channels),
            ('local_std_channel', [local_std_channel]),
        ):
            bad = [c for c in indices if c is not None and not 0 <= c < self.in_channels]
            if bad:
                raise ValueError(
                    f'SettingPolicy.{name}: {bad} is not a channel of {self.in_channels}-channel '
                    'images'
                )
        if local_std_window < 1 or local_std_window % 2 == 0:
            raise ValueError(f'local_std_window must be odd and >= 1, got {local_std_window}')
        self.local_std_channel = local_std_channel
        self.local_std_window = int(local_std_window)
        self.input_size = input_size
        num_inputs = len(self.channels) + (local_std_channel is not None)
        self.trunk, trunk_width = resnet_trunk(depth, num_inputs, base_channels, trunk_init_cfg)
        self.head = nn.Sequential(
            nn.Linear(trunk_width, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, len(self))
        )
        self._reset_head()

    def __len__(self) -> int:
        return len(self.settings)

    def _reset_head(self) -> None:
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def init_weights(self) -> None:
        super().init_weights()
        # BaseModule's init may touch the head through init_cfg: restore the uniform start.
        self._reset_head()

    def policy_input(self, images: torch.Tensor) -> torch.Tensor:
        """The trunk's input ``(B, len(channels) [+ 1], S, S)`` of ``images``
        ``(B, in_channels, H, W)`` float in [0, 1]."""
        if images.ndim != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f'SettingPolicy expected (B, {self.in_channels}, H, W) images, got '
                f'{tuple(images.shape)}'
            )
        parts = [images[:, self.channels]]
        if self.local_std_channel is not None:
            channel = images[:, self.local_std_channel : self.local_std_channel + 1]
            parts.append(local_std(channel, self.local_std_window))
        x = torch.cat(parts, dim=1)
        if self.input_size is not None and x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(
                x, size=(self.input_size, self.input_size), mode='bilinear', align_corners=False
            )
        return x

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, K)`` of ``images`` ``(B, in_channels, H, W)`` float in [0, 1]."""
        x = self.policy_input(images)
        if x.device.type == 'cpu' and not torch.is_grad_enabled():
            # torch's CPU max pooling (the trunk's stem) is much slower on NCHW than on
            # channels-last tensors; the values are the same. Inference only: the backward
            # pass of this trunk on channels-last CPU tensors of 256 px corrupts memory in
            # torch 2.13 (a segfault; test_setting_policy's 256 px training step).
            x = x.contiguous(memory_format=torch.channels_last)
        features = self.trunk(x)[-1]
        return self.head(torch.flatten(F.adaptive_avg_pool2d(features, 1), 1))

    @torch.no_grad()
    def choose(self, images: torch.Tensor) -> torch.Tensor:
        """``(B,)`` int64 index of each image's setting: the argmax of its logits (ties: the
        earlier setting)."""
        return self(images).argmax(dim=1)
