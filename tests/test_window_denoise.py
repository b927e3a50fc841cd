"""window_denoise: exact at the identity, the documented direction, true gradients."""

import pytest
import torch

from mmlesion.enhancement import gaussian_blur, window_denoise

WIDTHS = (400.0, 2074.0, None)


def params(batch, offset=0.0, scale=1.0, beta=0.0, dtype=torch.float32):
    return tuple(torch.full((batch,), v, dtype=dtype) for v in (offset, scale, beta))


@pytest.mark.parametrize('integer_valued', [False, True])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_identity_parameters_return_the_input_bit_for_bit(integer_valued, dtype):
    x = torch.rand(3, 3, 40, 52, generator=torch.Generator().manual_seed(0), dtype=dtype) * 255
    if integer_valued:
        x = x.round()
    x[0, :, 0, :3] = torch.tensor([0.0, 255.0, 127.5], dtype=dtype)  # the ends and mid grey
    out = window_denoise(x, *params(3, dtype=dtype), WIDTHS, sigma_px=1.5)
    assert out.dtype == dtype
    assert torch.equal(out, x)
    # Every channel re-windowed: still exact.
    assert torch.equal(window_denoise(x, *params(3, dtype=dtype), (400.0, 2074.0, 120.0)), x)


def test_a_narrower_window_spreads_the_soft_tissue_values_around_the_centre():
    x = 127.5 + 10 * torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    narrow = window_denoise(x, *params(1, scale=0.5), WIDTHS)
    wide = window_denoise(x, *params(1, scale=2.0), WIDTHS)
    for c in (0, 1):
        spread = x[0, c].std().item()
        assert narrow[0, c].std().item() == pytest.approx(2 * spread, rel=1e-4)
        assert wide[0, c].std().item() == pytest.approx(0.5 * spread, rel=1e-4)
    assert torch.equal(narrow[0, 2], x[0, 2])  # the local-contrast view is not re-windowed


def test_a_level_offset_moves_each_channel_by_its_own_hu_scale():
    x = torch.full((1, 3, 8, 8), 127.5)
    out = window_denoise(x, *params(1, offset=40.0), WIDTHS)
    # Window 40 HU higher: a pixel at the old level sits 40 HU below the new one.
    assert out[0, 0].unique().item() == pytest.approx(127.5 - 40 * 255 / 400)
    assert out[0, 1].unique().item() == pytest.approx(127.5 - 40 * 255 / 2074)
    assert out[0, 2].unique().item() == 127.5


def test_widening_cannot_bring_back_clipped_hu():
    x = torch.tensor([0.0, 255.0]).view(1, 1, 1, 2).expand(1, 3, 4, 2).contiguous()
    out = window_denoise(x, *params(1, scale=2.0), WIDTHS)
    # The window's ends move towards grey: nothing beyond them comes back.
    assert out[0, 0, 0].tolist() == [63.75, 191.25]


def test_denoising_lowers_the_noise_of_a_flat_image_and_keeps_its_mean():
    x = (100 + 10 * torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))).clamp(
        0, 255
    )
    stds = [
        window_denoise(x, *params(1, beta=beta), WIDTHS, sigma_px=1.5)[0, 0, 8:-8, 8:-8].std()
        for beta in (0.0, 0.5, 1.0)
    ]
    assert stds[0] > stds[1] > stds[2]
    assert stds[2] < 0.5 * stds[0]
    assert window_denoise(x, *params(1, beta=1.0), WIDTHS).mean().item() == pytest.approx(
        x.mean().item(), rel=1e-3
    )


def test_gaussian_blur_keeps_a_flat_image_flat():
    x = torch.full((2, 3, 5, 7), 42.0)
    assert torch.allclose(gaussian_blur(x, 3.0), x)


def test_gradients_match_finite_differences_in_all_three_parameters():
    generator = torch.Generator().manual_seed(3)
    # Away from the clamps' kinks: values near mid grey, a modest window change.
    x = (127.5 + 30 * torch.randn(2, 3, 12, 12, generator=generator, dtype=torch.float64)).clamp(
        20, 235
    )
    offset = torch.tensor([5.0, -3.0], dtype=torch.float64, requires_grad=True)
    scale = torch.tensor([0.9, 1.1], dtype=torch.float64, requires_grad=True)
    beta = torch.tensor([0.3, 0.6], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda d, s, b: window_denoise(x, d, s, b, WIDTHS, sigma_px=1.2),
        (offset, scale, beta),
        eps=1e-6,
        atol=1e-6,
    )


def test_gradients_at_the_identity_are_not_zero():
    x = 127.5 + 30 * torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    x = x.clamp(0, 255)
    offset, scale, beta = (p.requires_grad_() for p in params(1))
    out = window_denoise(x, offset, scale, beta, WIDTHS)
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(5))).sum().backward()
    assert all(p.grad.abs().item() > 0 for p in (offset, scale, beta))


@pytest.mark.parametrize(
    ('kwargs', 'match'),
    [
        ({'window_widths_hu': (400.0, None)}, 'one width'),
        ({'window_widths_hu': (400.0, 0.0, None)}, 'widths must be > 0'),
        ({'sigma_px': 0.0}, 'sigma_px'),
        ({'width_scale': torch.zeros(2)}, 'width_scale must be > 0'),
        ({'denoise': torch.full((2,), 1.5)}, r'denoise must lie in \[0, 1\]'),
        ({'level_offset_hu': torch.zeros(3)}, r'level_offset_hu must have shape \(2,\)'),
    ],
)
def test_bad_arguments_are_refused_with_what_was_expected(kwargs, match):
    arguments = dict(
        zip(('level_offset_hu', 'width_scale', 'denoise'), params(2), strict=True),
        window_widths_hu=WIDTHS,
    )
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        window_denoise(torch.zeros(2, 3, 8, 8), **arguments)
