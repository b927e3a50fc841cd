"""The fused CPU GLCAE kernel against the torch ops it mirrors, and the backend choice."""

import sys

import cv2
import numpy as np
import pytest
import torch

from mmlesion.enhancement import glcae, native

needs_kernel = pytest.mark.skipif(
    not native.available(), reason='mmlesion.enhancement._glcae_native not compiled'
)

# The kernel blends CLAHE tiles from OpenCV's coordinates instead of grid_sample's normalised
# ones and does not fuse multiply-adds: float rounding apart, the outputs are the same.
TOLERANCE = 1e-4


def _ct_like(batch, channels, height, width, seed=0):
    """Smooth low-contrast slices with a black background and noise, float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    planes = []
    for _ in range(batch * channels):
        field = cv2.GaussianBlur(rng.normal(0, 1, (height, width)), (0, 0), 3)
        plane = 0.4 + 0.1 * field / max(np.abs(field).max(), 1e-9)
        plane += rng.normal(0, 0.01, plane.shape)
        plane[: height // 5] = 0.0  # air above the body: a large single-level region
        planes.append(plane)
    return torch.from_numpy(np.stack(planes)).float().view(batch, channels, height, width)


def _both(x, clip, grid, **kwargs):
    with torch.no_grad():
        ops = glcae(x, clip, grid, backend='torch', return_lambda=True, **kwargs)
        fused = glcae(x, clip, grid, backend='native', return_lambda=True, **kwargs)
    return ops, fused


@needs_kernel
@pytest.mark.parametrize(
    ('shape', 'clip', 'grid'),
    [
        ((2, 3, 64, 64), [2.0, 7.9], [8.0, 8.67]),  # the demo's fractional grids, 2.5D input
        ((2, 1, 61, 47), [1.0, 3.3], [5.0, 3.5]),  # sides the grid does not divide
        ((3, 1, 40, 40), [0.2, 40.0, 300.0], [2.2, 7.0, 1.0]),  # clip at both ends, 1x1 grid
        ((1, 2, 33, 90), [4.0], [16.0]),  # many tiles on a wide image
        ((2, 1, 8, 11), [2.0, 2.0], [3.0, 8.0]),  # a grid as large as a side; pyramid of 1
    ],
)
def test_kernel_matches_the_torch_ops(shape, clip, grid):
    x = _ct_like(*shape)
    (ops, ops_lam), (fused, fused_lam) = _both(x, torch.tensor(clip), torch.tensor(grid))
    assert torch.equal(ops_lam, fused_lam)  # the same exact search, the same lambda
    assert (ops - fused).abs().max() < TOLERANCE
    assert fused.min() >= 0 and fused.max() <= 1


@needs_kernel
@pytest.mark.parametrize('levels', [1, 2, 4])
def test_kernel_matches_the_torch_ops_at_every_pyramid_depth(levels):
    x = _ct_like(2, 1, 72, 56, seed=3)
    (ops, _), (fused, _) = _both(x, 2.5, 4.5, levels=levels)
    assert (ops - fused).abs().max() < TOLERANCE


@needs_kernel
def test_kernel_searches_the_given_lambda_candidates():
    x = _ct_like(2, 1, 48, 48, seed=5)
    candidates = torch.tensor([0.0, 0.5, 3.0, 40.0], dtype=torch.float64)
    (_, ops_lam), (_, fused_lam) = _both(x, 2.0, 4, lam_candidates=candidates)
    assert torch.equal(ops_lam, fused_lam)
    assert all(value in candidates.tolist() for value in fused_lam.flatten().tolist())


@needs_kernel
@pytest.mark.parametrize('grid', [1, 8, 64])
def test_kernel_handles_degenerate_images(degenerate_image, grid):
    x = degenerate_image
    (ops, ops_lam), (fused, fused_lam) = _both(x, 2.0, grid)
    assert torch.isfinite(fused).all() and fused.min() >= 0 and fused.max() <= 1
    assert torch.equal(ops_lam, fused_lam)
    if x.flatten(2).amin(-1).eq(x.flatten(2).amax(-1)).all():
        # A constant image gives constant branches and stays constant. (The torch ops' branches
        # differ in the last bits from pixel to pixel, which the brightness weight's min-max
        # scaling blows up: there they are not comparable.)
        assert fused.flatten(2).amin(-1).eq(fused.flatten(2).amax(-1)).all()
    else:
        assert (ops - fused).abs().max() < TOLERANCE


@needs_kernel
def test_auto_uses_the_kernel_without_gradients_only(monkeypatch):
    calls = []
    kernel = native.glcae_native

    def counting(*args):
        calls.append(args[0].shape)
        return kernel(*args)

    # The package exports the function `glcae`, which hides its module of the same name.
    monkeypatch.setattr(sys.modules['mmlesion.enhancement.glcae'], 'glcae_native', counting)
    x = _ct_like(1, 1, 32, 32)
    with torch.no_grad():
        glcae(x, 2.0, 4)
    assert len(calls) == 1
    clip = torch.tensor(2.0, requires_grad=True)
    y = glcae(x, clip, 4)  # needs a gradient: the torch ops
    assert len(calls) == 1
    (grad,) = torch.autograd.grad(y.mean(), clip)
    assert torch.isfinite(grad)
    glcae(x, 2.0, 4)  # grad mode on, but nothing requires grad: the kernel
    glcae(x.double(), 2.0, 4)  # float64: the torch ops
    glcae(x, 2.0, 4, exact=False)  # interpolated tables: the torch ops
    assert len(calls) == 2


@needs_kernel
def test_half_precision_input_goes_through_the_kernel_in_float32():
    x = _ct_like(1, 1, 32, 32)
    with torch.no_grad():
        fused = glcae(x.half(), 2.0, 4, backend='native')
        ops = glcae(x.half(), 2.0, 4, backend='torch')
    assert fused.dtype == torch.float16
    assert (fused.float() - ops.float()).abs().max() <= 1e-3  # two float16 roundings at most


def test_native_backend_refuses_what_it_cannot_compute():
    x = torch.rand(1, 1, 16, 16)
    if not native.available():
        with pytest.raises(RuntimeError, match='not compiled'):
            glcae(x, 2.0, 4, backend='native')
        return
    clip = torch.tensor(2.0, requires_grad=True)
    with pytest.raises(ValueError, match='no gradient'):
        glcae(x, clip, 4, backend='native')
    with pytest.raises(ValueError, match='exact=True'):
        glcae(x, 2.0, 4, backend='native', exact=False)
    with pytest.raises(ValueError, match='float64'):
        glcae(x.double(), 2.0, 4, backend='native')


def test_unknown_backend_is_an_error():
    with pytest.raises(ValueError, match='backend must be one of'):
        glcae(torch.rand(1, 1, 16, 16), 2.0, 4, backend='numpy')


@needs_kernel
def test_kernel_scales_intensities_as_the_torch_ops_do():
    # Intensities on [0, 255] with values outside it (clamped first): the kernel divides and
    # clamps on the fly, the torch ops in two passes; the same lambda, the same image to rounding.
    x = _ct_like(2, 3, 64, 64, seed=7) * 300.0 - 10.0
    clip, grid = torch.tensor([2.0, 7.9]), torch.tensor([8.0, 8.67])
    (ops, ops_lam), (fused, fused_lam) = _both(x, clip, grid, intensity_max=255.0)
    assert torch.equal(ops_lam, fused_lam)
    assert (ops - fused).abs().max() < TOLERANCE * 255.0
    assert fused.min() >= 0 and fused.max() <= 255.0


def test_intensity_max_is_the_enhancement_of_the_scaled_image():
    x = _ct_like(1, 2, 48, 48, seed=8) * 255.0
    with torch.no_grad():
        scaled = glcae(x, 3.0, 6.5, intensity_max=255.0, backend='torch')
        by_hand = glcae((x / 255.0).clamp(0, 1), 3.0, 6.5, backend='torch') * 255.0
    assert torch.equal(scaled, by_hand)


@pytest.mark.parametrize(
    ('value', 'error'),
    [
        (0.0, ValueError),
        (-1.0, ValueError),
        (float('inf'), ValueError),
        (True, TypeError),
        ('255', TypeError),
    ],
)
def test_intensity_max_must_be_a_positive_finite_number(value, error):
    with pytest.raises(error, match='intensity_max'):
        glcae(torch.rand(1, 1, 16, 16), 2.0, 4, intensity_max=value)
