"""A ResNet whose stem keeps half the resolution (no max pool): stride-2 features for small
lesions."""

from __future__ import annotations

from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from torch import nn


@MODELS.register_module()
class FineStemResNet(ResNet):
    """mmdet's :class:`ResNet` without the stem's 3x3 max pool.

    The four stages then output strides 2, 4, 8 and 16 pixels instead of 4 to 32: a lesion 8
    pixels across spans four cells of the finest map instead of two, so its box can be placed
    and sized to a pixel. Every stage costs four times its usual FLOPs at a given width.
    Arguments are :class:`ResNet`'s.

    Input: ``(N, C, H, W)``. Outputs: the stages in ``out_indices``, stage ``i`` of shape
    ``(N, base_channels * 2**i * expansion, H / 2**(i+1), W / 2**(i+1))``.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.maxpool = nn.Identity()
