"""FineStemResNet: mmdet's ResNet with stride-2 features (no stem max pool)."""

import torch
from mmdet.models.backbones import ResNet

from mmlesion.models import FineStemResNet


def test_stages_come_out_at_half_the_usual_strides_with_the_same_weights():
    kwargs = dict(depth=18, base_channels=8, init_cfg=None)
    fine, usual = FineStemResNet(**kwargs), ResNet(**kwargs)
    fine.eval()  # mmdet's ResNet.train() returns None, so no chaining
    usual.eval()
    assert fine.state_dict().keys() == usual.state_dict().keys()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        fine_maps, usual_maps = fine(x), usual(x)
    assert [m.shape[-1] for m in fine_maps] == [32, 16, 8, 4]  # strides 2, 4, 8, 16
    assert [m.shape[-1] for m in usual_maps] == [16, 8, 4, 2]
    assert [m.shape[1] for m in fine_maps] == [8, 16, 32, 64]
