import cv2
import numpy as np
import torch

from mmlesion.enhancement.clahe_tiles import tile_layout
from mmlesion.enhancement.histogram import gray_levels, image_histograms, tile_histograms


def _uint8_images(n, h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w), dtype=np.uint8)


def test_gray_levels_recover_uint8_and_clamp():
    levels = torch.arange(256, dtype=torch.float32)
    assert torch.equal(gray_levels(levels / 255), levels)
    assert gray_levels(torch.tensor([-0.5, 1.7])).tolist() == [0.0, 255.0]


def test_image_histograms_match_bincount():
    images = _uint8_images(3, 17, 23)
    hist = image_histograms(torch.from_numpy(images).float() / 255)
    for n in range(3):
        assert hist[n].tolist() == np.bincount(images[n].ravel(), minlength=256).tolist()


def test_tile_histograms_count_opencv_padded_tiles():
    images = _uint8_images(2, 37, 26, seed=1)
    grid = 4
    layout = tile_layout(37, 26, grid, torch.device('cpu'), torch.float32)
    hist = tile_histograms(torch.from_numpy(images).float() / 255, layout)
    pad_h, pad_w = grid - 37 % grid, grid - 26 % grid
    for n in range(2):
        padded = cv2.copyMakeBorder(images[n], 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101)
        tile_h, tile_w = padded.shape[0] // grid, padded.shape[1] // grid
        for ty in range(grid):
            for tx in range(grid):
                tile = padded[ty * tile_h : (ty + 1) * tile_h, tx * tile_w : (tx + 1) * tile_w]
                expected = np.bincount(tile.ravel(), minlength=256)
                assert hist[n, ty * grid + tx].tolist() == expected.tolist()
    assert hist.sum(-1).eq(layout.tile_pixels).all()
