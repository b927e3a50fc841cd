import cv2
import numpy as np
import torch

from mmlesion.enhancement import fusion_weights, normalized_weight
from mmlesion.enhancement.fusion_weights import brightness_weight, laplacian_3x3
from mmlesion.enhancement.reference_numpy import fusion_weight


def test_laplacian_matches_opencv_ksize_3():
    x = torch.rand(2, 2, 13, 17, dtype=torch.float64)
    expected = cv2.Laplacian(x[1, 0].numpy(), cv2.CV_64F, ksize=3)
    assert np.allclose(laplacian_3x3(x)[1, 0].numpy(), expected)


def test_weights_match_reference_on_uint8_images():
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (40, 52)).astype(np.uint8), (5, 5), 1.5)
    image[:, :10] = 255  # strong edge: the 8-bit saturation of |Laplacian| matters
    ours = fusion_weights(torch.from_numpy(image).double()[None, None] / 255)[0, 0].numpy()
    # Up to the 1e-5 dead band against float rounding.
    assert np.allclose(ours, fusion_weight(image), atol=1e-4)


def test_brightness_peaks_at_mid_gray_of_the_scaled_image():
    v = torch.linspace(0.2, 0.6, 101).view(1, 1, 1, 101)
    b = brightness_weight(v)[0, 0, 0]
    assert b.argmax() == 50 and torch.isclose(b[50], torch.tensor(1.0))
    assert torch.isclose(b[0], torch.tensor(float(np.exp(-0.25 / 0.08))))


def test_weights_are_positive_bounded_and_constant_images_share_equally():
    weights = fusion_weights(torch.rand(3, 2, 9, 8))
    assert (weights >= 1e-5).all() and (weights <= 1).all()
    flat = fusion_weights(torch.full((1, 2, 9, 8), 0.3))
    share = normalized_weight(flat[:, :1], flat[:, 1:])
    assert torch.allclose(share, torch.full_like(share, 0.5))


def test_one_pixel_images_do_not_break():
    weights = fusion_weights(torch.rand(2, 1, 1, 1))
    assert torch.isfinite(weights).all()


def test_gradcheck_below_saturation():
    generator = torch.Generator().manual_seed(0)
    v = 0.3 * torch.rand(1, 2, 7, 8, generator=generator, dtype=torch.float64)
    assert torch.autograd.gradcheck(fusion_weights, (v.requires_grad_(True),))
