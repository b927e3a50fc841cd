import cv2
import numpy as np
import pytest
import torch

from mmlesion.enhancement import glcae


def _slices(count, height, width, seed=0):
    """Low-contrast, smooth CT-like slices in [0, 1] (float32)."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        field = cv2.GaussianBlur(rng.normal(0, 1, (height, width)), (0, 0), 4)
        images.append(0.35 + 0.1 * field / np.abs(field).max() + rng.normal(0, 0.01, field.shape))
    return torch.from_numpy(np.stack(images)).float()[:, None]


def test_output_shape_range_and_lambda():
    x = _slices(3, 48, 40)
    y, lam = glcae(x, 2.0, 4, return_lambda=True)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert y.min() >= 0 and y.max() <= 1
    assert lam.shape == (3, 1) and (lam >= 0).all()
    assert y.std() > 2 * x.std()


def test_matches_the_numpy_reference_given_its_lambda():
    scipy = pytest.importorskip('scipy')  # noqa: F841
    from mmlesion.enhancement.reference_numpy import glcae_reference, stretch_to_uint8

    image = (_slices(1, 96, 80)[0, 0].numpy() * 255).round().astype(np.uint8)
    expected, lam = glcae_reference(image, 2.0, 4, levels=3)
    # The reference stretches to uint8: start from that image so both see the same levels.
    x = torch.from_numpy(stretch_to_uint8(image)).float()[None, None] / 255
    ours = glcae(x, 2.0, 4, levels=3, lam_candidates=torch.tensor([lam]))[0, 0].numpy()
    assert np.abs(ours - expected).mean() < 0.01
    assert np.abs(ours - expected).max() < 0.1


def test_gradients_reach_clip_soft_grid_and_image():
    x = _slices(2, 64, 56).requires_grad_(True)
    clip = torch.tensor([1.5, 3.0], requires_grad=True)
    grid = torch.tensor([3.4, 5.0], requires_grad=True)
    y = glcae(x, clip, grid)
    grad_x, grad_clip, grad_grid = torch.autograd.grad((y * y).mean(), (x, clip, grid))
    for grad in (grad_x, grad_clip, grad_grid):
        assert torch.isfinite(grad).all()
        assert (grad != 0).all() if grad.dim() == 1 else grad.abs().sum() > 0


def test_interpolated_clahe_gives_a_matching_directional_derivative():
    x = _slices(1, 40, 40, seed=2).double()
    clip = torch.tensor([2.3], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(glcae(x, clip, 3, exact=False).mean(), clip)
    step = 1e-4
    with torch.no_grad():
        slope = (
            glcae(x, clip + step, 3, exact=False).mean()
            - glcae(x, clip - step, 3, exact=False).mean()
        ) / (2 * step)
    assert grad.item() != 0
    assert torch.isclose(grad[0], slope, rtol=1e-3, atol=1e-6)


def test_channels_are_enhanced_separately_with_their_image_parameters():
    x = torch.cat((_slices(2, 32, 36, seed=4), _slices(2, 32, 36, seed=5)), dim=1)
    clip, grid = torch.tensor([1.0, 3.0]), torch.tensor([2.0, 4.0])
    y, lam = glcae(x, clip, grid, return_lambda=True)
    for b in range(2):
        for c in range(2):
            single, single_lam = glcae(
                x[b : b + 1, c : c + 1], clip[b].item(), grid[b].item(), return_lambda=True
            )
            assert torch.allclose(y[b, c], single[0, 0], atol=1e-6)
            assert lam[b, c] == single_lam[0, 0]


@pytest.mark.parametrize('grid', [1, 8, 64])
def test_degenerate_images_and_grids_stay_finite(degenerate_image, grid):
    x = degenerate_image.requires_grad_(True)
    clip = torch.tensor(2.0, requires_grad=True)
    y = glcae(x, clip, grid)
    assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1
    grads = torch.autograd.grad(y.sum(), (x, clip))
    assert all(torch.isfinite(g).all() for g in grads)


def test_constant_image_is_left_at_its_level():
    y = glcae(torch.full((1, 1, 32, 32), 0.25), 2.0, 4)
    assert torch.allclose(y, torch.full_like(y, y[0, 0, 0, 0].item()))
    assert abs(y[0, 0, 0, 0].item() - 0.25) < 0.02


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_in_float32(dtype):
    x = _slices(2, 40, 36)
    y = glcae(x.to(dtype), 2.0, 4)
    assert y.dtype == dtype
    assert torch.allclose(y.float(), glcae(x.to(dtype).float(), 2.0, 4), atol=1e-2)


@pytest.mark.parametrize('bad', [0.0, -1.0, float('nan'), float('inf')])
def test_rejects_bad_clip(bad):
    with pytest.raises(ValueError, match='clip_limit'):
        glcae(torch.rand(1, 1, 16, 16), bad, 4)


@pytest.mark.parametrize('backend', ['torch', 'auto'])
@pytest.mark.parametrize(('levels', 'error'), [(0, ValueError), (-2, ValueError), (2.5, TypeError)])
def test_rejects_bad_levels_on_every_backend(backend, levels, error):
    # The native kernel refused levels=0; the torch ops ran it without a word.
    with pytest.raises(error, match=r'levels must be an integer >= 1'):
        glcae(torch.rand(1, 1, 32, 32), 2.0, 4, levels=levels, backend=backend)


def test_rejects_non_finite_images():
    x = torch.rand(1, 1, 16, 16)
    x[0, 0, 3, 3] = float('nan')
    with pytest.raises(ValueError, match='NaN'):
        glcae(x, 2.0, 4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_matches_cpu():
    x = torch.cat((_slices(3, 70, 90), _slices(3, 70, 90, seed=1)), dim=1)
    clip, grid = torch.tensor([1.0, 2.0, 6.0]), torch.tensor([2.0, 4.5, 8.0])
    cpu, lam_cpu = glcae(x, clip, grid, return_lambda=True)
    cuda, lam_cuda = glcae(x.cuda(), clip.cuda(), grid.cuda(), return_lambda=True)
    assert torch.equal(lam_cpu, lam_cuda.cpu())
    assert torch.allclose(cpu, cuda.cpu(), atol=1e-4)
