"""TrainableParamsOptimWrapperConstructor: frozen sub-modules out, trainable groups as default."""

from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from mmlesion.engine import TrainableParamsOptimWrapperConstructor


class FrozenPlusTrainable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.detector = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2))
        self.regressor = nn.ModuleDict({'trunk': nn.Linear(4, 4), 'head': nn.Linear(4, 2)})
        self.detector.requires_grad_(False)


def build(constructor_cls, model):
    cfg = {'type': 'OptimWrapper', 'optimizer': {'type': 'AdamW', 'lr': 1e-2}}
    paramwise = {'custom_keys': {'regressor.trunk': {'lr_mult': 0.1}}}
    return constructor_cls(cfg, paramwise)(model).optimizer


def test_frozen_modules_are_left_out_and_trainable_groups_kept(mmengine_log):
    model = FrozenPlusTrainable()
    groups = build(TrainableParamsOptimWrapperConstructor, model).param_groups
    frozen = {id(p) for p in model.detector.parameters()}
    assert not any(id(p) in frozen for g in groups for p in g['params'])
    assert len(groups) == 4  # weight and bias of the trunk and of the head
    assert sorted(g['lr'] for g in groups) == [1e-3, 1e-3, 1e-2, 1e-2]
    assert not any('is skipped since' in m for m in mmengine_log)
    [line] = [m for m in mmengine_log if 'frozen' in m]
    assert 'detector: frozen (6 parameter tensors' in line


def test_trainable_groups_match_the_default_constructor():
    model = FrozenPlusTrainable()
    ours = build(TrainableParamsOptimWrapperConstructor, model).param_groups
    default = build(DefaultOptimWrapperConstructor, model).param_groups
    trainable = [g for g in default if g['params'][0].requires_grad]
    assert [(id(g['params'][0]), g['lr']) for g in ours] == [
        (id(g['params'][0]), g['lr']) for g in trainable
    ]
