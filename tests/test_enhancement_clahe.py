import cv2
import numpy as np
import pytest
import torch

from mmlesion.enhancement import clahe

CLIPS = [0.5, 1.0, 2.0, 4.0, 8.0, 40.0]


def _textured_uint8(height, width, seed=0):
    """Smooth low-contrast structure, a flat background and noise: exercises the clipping."""
    rng = np.random.default_rng(seed)
    field = cv2.GaussianBlur(rng.normal(0, 1, (height, width)), (0, 0), max(height, width) / 12)
    field = (field - field.min()) / (np.ptp(field) + 1e-9)
    image = 70 + 60 * field + rng.normal(0, 4, (height, width))
    image[: height // 4, : width // 3] = 12
    return np.clip(image, 0, 255).astype(np.uint8)


def _to_tensor(image, dtype=torch.float32):
    return torch.from_numpy(image).to(dtype)[None, None] / 255


@pytest.mark.parametrize(
    ('height', 'width', 'grids'),
    [
        (37, 53, range(1, 17)),
        (100, 75, [1, 3, 4, 6, 7, 9, 11, 16]),
        (64, 64, [1, 2, 3, 5, 8, 16]),
        (511, 509, [1, 5, 8, 16]),
    ],
)
def test_matches_opencv_within_one_level(height, width, grids):
    image = _textured_uint8(height, width, seed=height)
    pairs = [(g, c) for g in grids for c in CLIPS]
    x = _to_tensor(image).expand(len(pairs), 1, height, width)
    out = clahe(x, torch.tensor([c for _, c in pairs]), torch.tensor([g for g, _ in pairs]))
    levels = (out[:, 0] * 255).round().to(torch.int64).numpy()
    for i, (grid, clip) in enumerate(pairs):
        expected = cv2.createCLAHE(clip, (grid, grid)).apply(image).astype(np.int64)
        diff = np.abs(levels[i] - expected)
        assert diff.max() <= 1, (grid, clip)
        # Differences are rounding ties of the float interpolation, not a systematic offset.
        assert (diff == 0).mean() > 0.85, (grid, clip)


def test_black_and_constant_images_match_opencv():
    for value in (0, 128, 255):
        image = np.full((24, 40), value, dtype=np.uint8)
        expected = cv2.createCLAHE(2.0, (4, 4)).apply(image)
        out = clahe(_to_tensor(image), 2.0, 4)
        assert torch.isfinite(out).all()
        assert np.abs((out[0, 0] * 255).round().numpy() - expected).max() <= 1


def test_grid_larger_than_image_is_clamped_to_the_smaller_side():
    x = torch.rand(1, 1, 5, 7)
    assert torch.equal(clahe(x, 2.0, 40), clahe(x, 2.0, 5))
    grid = torch.tensor([40.0], requires_grad=True)
    (grad,) = torch.autograd.grad(clahe(x, 2.0, grid).sum(), grid)
    assert grad.item() == 0


def test_channels_are_equalised_separately_with_their_image_parameters():
    x = torch.rand(2, 3, 20, 24)
    clip, grid = torch.tensor([1.5, 4.0]), torch.tensor([3, 5])
    out = clahe(x, clip, grid)
    for b in range(2):
        for c in range(3):
            single = clahe(x[b : b + 1, c : c + 1], clip[b].item(), grid[b].item())
            assert torch.allclose(out[b, c], single[0, 0], atol=1e-6)


def test_fractional_grid_blends_neighbouring_grids_and_passes_gradient():
    x = _to_tensor(_textured_uint8(40, 48)).expand(2, 1, 40, 48)
    grid = torch.tensor([2.25, 2.25], requires_grad=True)
    out = clahe(x, 2.0, grid)
    lower, upper = clahe(x, 2.0, 2), clahe(x, 2.0, 3)
    assert torch.allclose(out, 0.75 * lower + 0.25 * upper, atol=1e-6)
    (grad,) = torch.autograd.grad(out.sum(), grid)
    assert torch.allclose(grad, (upper - lower).sum(dim=(1, 2, 3)), rtol=1e-4)
    assert (grad != 0).all()


def test_integer_grid_requiring_grad_keeps_its_output_and_gets_a_one_sided_slope():
    x = _to_tensor(_textured_uint8(32, 32))
    grid = torch.tensor([4.0], requires_grad=True)
    out = clahe(x, 2.0, grid)
    assert torch.equal(out, clahe(x, 2.0, 4))
    (grad,) = torch.autograd.grad(out.sum(), grid)
    assert torch.allclose(grad, (clahe(x, 2.0, 5) - out).sum(), rtol=1e-4)


def _between_levels(shape, seed=0):
    """float64 images whose levels sit away from the integers and half-integers (no kinks)."""
    generator = torch.Generator().manual_seed(seed)
    levels = torch.randint(0, 255, shape, generator=generator).double()
    return (levels + 0.1 + 0.3 * torch.rand(shape, generator=generator, dtype=torch.float64)) / 255


def test_relaxed_clahe_passes_gradcheck_in_image_and_clip():
    x = _between_levels((2, 1, 12, 10)).requires_grad_(True)
    clip = torch.tensor([1.3, 2.6], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, c: clahe(x, c, 3, exact=False), (x, clip))


def test_exact_clahe_gradients_are_finite_non_zero_and_follow_opencv():
    x = _to_tensor(_textured_uint8(96, 80)).requires_grad_(True)
    clip = torch.tensor([2.0], requires_grad=True)
    grad_x, grad_clip = torch.autograd.grad(clahe(x, clip, 4).mean(), (x, clip))
    assert torch.isfinite(grad_x).all() and grad_x.abs().sum() > 0
    assert torch.isfinite(grad_clip).all() and grad_clip.item() != 0
    # Over a step large enough for OpenCV's integer clip to move, OpenCV's output changes in
    # the direction of the gradient.
    with torch.no_grad():
        step = clahe(x, 2.5, 4).mean() - clahe(x, 1.5, 4).mean()
    assert torch.sign(step) == torch.sign(grad_clip)


def test_half_precision_input_matches_opencv():
    image = _textured_uint8(64, 48)
    out = clahe(_to_tensor(image).half(), 2.0, 4)
    assert out.dtype == torch.float16
    expected = cv2.createCLAHE(2.0, (4, 4)).apply(image)
    assert np.abs((out[0, 0].float() * 255).round().numpy() - expected).max() <= 1


def test_rejects_invalid_parameters():
    x = torch.rand(1, 1, 8, 8)
    for bad in (0.0, -1.0, float('nan'), float('inf')):
        with pytest.raises(ValueError, match='clip_limit'):
            clahe(x, bad, 2)
    with pytest.raises(ValueError, match='grid_size'):
        clahe(x, 2.0, 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_matches_cpu():
    x = _to_tensor(_textured_uint8(67, 90)).expand(4, 2, 67, 90).contiguous()
    clip, grid = torch.tensor([1.0, 2.0, 4.0, 8.0]), torch.tensor([2.0, 3.5, 8.0, 16.0])
    cpu = clahe(x, clip, grid)
    cuda = clahe(x.cuda(), clip.cuda(), grid.cuda()).cpu()
    assert torch.allclose(cpu, cuda, atol=1e-5)
