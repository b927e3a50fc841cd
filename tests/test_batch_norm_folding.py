"""BatchNorm folding for the regressors' inference passes: same outputs, training untouched."""

import pytest
import torch
from torch import nn

from mmlesion.models import CLAHEParamRegressor
from mmlesion.models.regressors.batch_norm_folding import FoldedCopy, fold_batch_norms


def trained_looking(module: nn.Module) -> nn.Module:
    """Give every BatchNorm statistics and an affine map far from the identity."""
    generator = torch.Generator().manual_seed(3)
    for bn in module.modules():
        if isinstance(bn, nn.BatchNorm2d):
            shape = bn.running_mean.shape
            bn.running_mean.copy_(torch.randn(shape, generator=generator))
            bn.running_var.copy_(torch.rand(shape, generator=generator) * 3 + 0.1)
            with torch.no_grad():
                bn.weight.copy_(torch.randn(shape, generator=generator))
                bn.bias.copy_(torch.randn(shape, generator=generator))
    return module


def small_regressor() -> CLAHEParamRegressor:
    torch.manual_seed(0)
    regressor = trained_looking(CLAHEParamRegressor(input_size=32, base_channels=4))
    with torch.no_grad():
        for head in (regressor.clip_head, regressor.grid_head):
            head[-1].weight.normal_()  # heads that look at the features
    return regressor.eval()


def images() -> torch.Tensor:
    return torch.rand(3, 1, 40, 40, generator=torch.Generator().manual_seed(1))


def test_folded_copy_has_no_batch_norm_and_computes_the_same():
    torch.manual_seed(0)
    module = trained_looking(
        nn.Sequential(nn.Conv2d(2, 5, 3, padding=1, bias=False), nn.BatchNorm2d(5), nn.ReLU())
    ).eval()
    x = torch.randn(2, 2, 9, 9)
    folded = fold_batch_norms(module)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert torch.allclose(folded(x), module(x), rtol=1e-5, atol=1e-5)
    assert any(isinstance(m, nn.BatchNorm2d) for m in module.modules())  # original kept


def test_folding_refuses_training_mode():
    with pytest.raises(ValueError, match='training mode'):
        fold_batch_norms(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))


def test_regressor_inference_pass_equals_the_unfolded_pass():
    regressor = small_regressor()
    with torch.no_grad():
        folded = regressor.scores(images())
    with torch.enable_grad():  # a pass that records gradients runs the modules themselves
        unfolded = regressor.scores(images())
    assert unfolded.grad_fn is not None and folded.grad_fn is None
    assert torch.allclose(folded, unfolded, rtol=1e-5, atol=1e-5)


def test_folding_leaves_the_state_dict_and_parameters_alone():
    regressor = small_regressor()
    keys = list(regressor.state_dict())
    params = [p.clone() for p in regressor.parameters()]
    with torch.no_grad():
        regressor.scores(images())
    assert list(regressor.state_dict()) == keys
    assert all(torch.equal(p, q) for p, q in zip(regressor.parameters(), params, strict=True))
    assert any(isinstance(m, nn.BatchNorm2d) for m in regressor.trunk.modules())


def test_folded_copy_is_reused_until_a_weight_changes():
    module = trained_looking(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))).eval()
    cache = FoldedCopy()
    first = cache.get(module)
    assert cache.get(module) is first
    with torch.no_grad():
        module[1].bias.add_(1.0)  # in place, as an optimizer step
    assert cache.get(module) is not first


def test_inference_follows_new_weights_and_statistics():
    regressor = small_regressor()
    with torch.no_grad():
        before = regressor.scores(images())
        regressor.stem[1].running_mean.add_(0.5)
        after = regressor.scores(images())
    with torch.enable_grad():
        expected = regressor.scores(images()).detach()
    assert not torch.allclose(before, after)
    assert torch.allclose(after, expected, rtol=1e-5, atol=1e-5)
    # load_state_dict copies in place: the cache follows it too.
    other = small_regressor()
    with torch.no_grad():
        other.trunk.layer1[0].bn1.bias.add_(1.0)
    regressor.load_state_dict(other.state_dict())
    with torch.no_grad():
        loaded = regressor.scores(images())
    with torch.enable_grad():
        expected = other.scores(images()).detach()
    assert torch.allclose(loaded, expected, rtol=1e-5, atol=1e-5)


def test_training_updates_batch_norm_statistics_and_reaches_their_weights():
    regressor = small_regressor().train()
    running_mean = regressor.stem[1].running_mean.clone()
    with torch.no_grad():  # training mode: no folded copy, even without gradient
        regressor.scores(images())
    assert not torch.equal(regressor.stem[1].running_mean, running_mean)
    regressor.zero_grad()
    regressor.scores(images()).sum().backward()
    assert regressor.stem[1].weight.grad is not None
    assert regressor.trunk.layer1[0].bn1.weight.grad.abs().sum() > 0
