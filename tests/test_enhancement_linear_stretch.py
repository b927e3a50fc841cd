import torch

from mmlesion.enhancement import linear_stretch


def test_each_channel_spans_zero_to_one():
    x = torch.rand(2, 3, 7, 9) * 500 - 1000
    y = linear_stretch(x)
    flat = y.flatten(2)
    assert torch.allclose(flat.amin(-1), torch.zeros(2, 3))
    assert torch.allclose(flat.amax(-1), torch.ones(2, 3))
    expected = (x[1, 2] - x[1, 2].min()) / (x[1, 2].max() - x[1, 2].min())
    assert torch.allclose(y[1, 2], expected, atol=1e-6)


def test_constant_channels_are_kept_and_clamped_without_nan():
    x = torch.stack((torch.full((4, 4), 0.3), torch.full((4, 4), -2.0), torch.rand(4, 4)))[None]
    x = x.requires_grad_(True)
    y = linear_stretch(x)
    assert torch.allclose(y[0, 0], torch.full((4, 4), 0.3))
    assert torch.equal(y[0, 1], torch.zeros(4, 4))
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert torch.isfinite(grad).all()


def test_gradcheck():
    x = torch.rand(2, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(linear_stretch, (x,))
