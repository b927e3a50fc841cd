"""Grad-CAM of the CLAHE parameter regressor's two heads."""

import pytest
import torch
import torch.nn.functional as F

from mmlesion.models import CLAHEParamRegressor
from mmlesion.visualization import gradcam_overlay, regressor_gradcam


def trained_looking_regressor():
    """A regressor whose heads depend on the image (an untrained one outputs a constant)."""
    torch.manual_seed(0)
    regressor = CLAHEParamRegressor(input_size=128, base_channels=4)
    for head in (regressor.clip_head, regressor.grid_head):
        torch.nn.init.normal_(head[-1].weight, std=1.0)
    return regressor


def manual_gradcam(regressor, x, head_index, direction=1):
    """Grad-CAM written out without hooks: the reference."""
    regressor.eval()
    activation = regressor.trunk(regressor.stem(x))[-1]
    pooled = torch.flatten(F.adaptive_avg_pool2d(activation, 1), 1)
    embedding = regressor.embed(pooled)
    head = (regressor.clip_head, regressor.grid_head)[head_index]
    score = head(embedding)[:, 0] * direction
    (grad,) = torch.autograd.grad(score.sum(), activation)
    cam = F.relu((grad.mean(dim=(2, 3), keepdim=True) * activation).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode='bilinear', align_corners=False)[:, 0]
    return cam / cam.flatten(1).amax(1).clamp(min=1e-12)[:, None, None]


@pytest.mark.parametrize(('head', 'index'), [('clip', 0), ('grid', 1)])
def test_maps_equal_the_written_out_definition(head, index):
    regressor = trained_looking_regressor()
    x = torch.rand(4, 1, 128, 128)
    maps = []
    for direction in (1, -1):
        cam = regressor_gradcam(regressor, x, head, direction=direction)
        assert cam.shape == (4, 128, 128) and float(cam.min()) >= 0.0
        torch.testing.assert_close(cam, manual_gradcam(regressor, x, index, direction))
        maps.append(cam)
    # Scaled per image; what does not raise the output lowers it, so one of the two shows.
    peaks = torch.stack(maps).amax(dim=(2, 3))
    torch.testing.assert_close(peaks.amax(dim=0), torch.ones(4))


def test_regressor_is_left_as_it_was():
    regressor = trained_looking_regressor().train()
    regressor_gradcam(regressor, torch.rand(1, 1, 64, 64), 'grid')
    assert regressor.training
    assert all(p.grad is None for p in regressor.parameters())


def test_untrained_heads_have_nothing_to_show():
    # The documented start: last head layers are zero, the output ignores the image.
    regressor = CLAHEParamRegressor(input_size=64, base_channels=4)
    cam = regressor_gradcam(regressor, torch.rand(1, 1, 64, 64), 'clip')
    assert torch.count_nonzero(cam) == 0


def test_overlay_is_a_colour_image():
    overlay = gradcam_overlay(torch.rand(16, 16).numpy(), torch.rand(16, 16).numpy())
    assert overlay.shape == (16, 16, 3) and overlay.dtype.name == 'uint8'


def test_unknown_head_is_refused():
    with pytest.raises(ValueError, match='head must be one of'):
        regressor_gradcam(trained_looking_regressor(), torch.rand(1, 1, 64, 64), 'gamma')
