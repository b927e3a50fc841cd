"""The ResNet trunk of the enhancement regressors: mmdet's ``ResNet``, last stage only."""

from __future__ import annotations

from mmdet.registry import MODELS
from torch import nn


def resnet_trunk(
    depth: int, in_channels: int, base_channels: int, init_cfg: dict | None
) -> tuple[nn.Module, int]:
    """An mmdet ``ResNet`` of ``depth`` returning its last stage's features, and their width.

    Args:
        depth: 18, 34, 50, ... as mmdet's ``ResNet``.
        in_channels: channels of the image it reads.
        base_channels: the stem's width (64 in a standard ResNet).
        init_cfg: mmengine's init config of the trunk, e.g. ImageNet weights; None: random.

    Returns:
        The trunk (BatchNorm trained, ``norm_eval=False``) and its output channels:
        ``8 * base_channels`` (``32 *`` for the bottleneck ResNets, depth >= 50).
    """
    trunk = MODELS.build(
        dict(
            type='ResNet',
            depth=depth,
            in_channels=in_channels,
            base_channels=base_channels,
            num_stages=4,
            out_indices=(3,),
            norm_eval=False,
            style='pytorch',
            init_cfg=init_cfg,
        )
    )
    return trunk, base_channels * 8 * (1 if depth < 50 else 4)
