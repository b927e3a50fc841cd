import numpy as np
import pytest
import torch

from mmlesion.enhancement.clahe_lut import clahe_luts


def _opencv_lut(hist: np.ndarray, clip_limit: float, tile_pixels: int) -> np.ndarray:
    """OpenCV's CLAHE_CalcLut_Body for one tile, transcribed as scalar loops."""
    hist = hist.astype(np.int64).copy()
    clip = max(int(clip_limit * tile_pixels / 256), 1)
    clipped = 0
    for i in range(256):
        if hist[i] > clip:
            clipped += hist[i] - clip
            hist[i] = clip
    per_bin, residual = divmod(clipped, 256)
    hist += per_bin
    if residual:
        step = max(256 // residual, 1)
        i = 0
        while i < 256 and residual > 0:
            hist[i] += 1
            i += step
            residual -= 1
    scale = np.float32(255) / np.float32(tile_pixels)
    lut = np.empty(256, dtype=np.int64)
    total = 0
    for i in range(256):
        total += hist[i]
        lut[i] = min(max(int(np.rint(np.float32(total) * scale)), 0), 255)
    return lut


@pytest.mark.parametrize('clip_limit', [0.1, 0.5, 1.0, 2.0, 3.7, 40.0, 300.0])
def test_exact_tables_match_opencv_arithmetic(clip_limit):
    rng = np.random.default_rng(int(clip_limit * 10))
    tile_pixels = 1500
    hists = []
    for _ in range(4):
        concentration = rng.uniform(0.05, 5)
        hists.append(rng.multinomial(tile_pixels, rng.dirichlet(np.full(256, concentration))))
    hist = torch.tensor(np.stack(hists), dtype=torch.float32)[None]
    luts = clahe_luts(hist, torch.tensor([clip_limit]), tile_pixels)
    for t in range(4):
        expected = _opencv_lut(hists[t], clip_limit, tile_pixels)
        assert (luts[0, t] * 255).round().long().tolist() == expected.tolist()


def _hist_pair():
    hist = torch.zeros(1, 2, 256, dtype=torch.float64)
    hist[0, 0, 100] = 900
    hist[0, 0, 30:50] = 5
    hist[0, 1, :250] = 4
    return hist


def test_relaxed_tables_interpolate_opencv_between_integer_clips():
    hist, tile_pixels = _hist_pair(), 1000
    # clip_limit * 1000 / 256 = 3.25 counts: a quarter of the way from clip 3 to clip 4.
    clip = torch.tensor([3.25 * 256 / tile_pixels], dtype=torch.float64)
    relaxed = clahe_luts(hist, clip, tile_pixels, exact=False)
    at_3 = clahe_luts(hist, torch.tensor([3 * 256 / tile_pixels]), tile_pixels, exact=False)
    at_4 = clahe_luts(hist, torch.tensor([4 * 256 / tile_pixels]), tile_pixels, exact=False)
    assert torch.allclose(relaxed, 0.75 * at_3 + 0.25 * at_4)
    for t in range(2):
        expected = _opencv_lut(hist[0, t].numpy(), 3 * 256 / tile_pixels, tile_pixels)
        # Unrounded: within half a level of OpenCV's rounded table.
        assert ((at_3[0, t] * 255) - torch.from_numpy(expected)).abs().max() <= 0.5 + 1e-6
    assert (relaxed.diff(dim=-1) >= 0).all()
    assert torch.allclose(relaxed[..., -1], torch.ones(1, 2, dtype=torch.float64))


def test_relaxed_tables_pass_gradcheck_in_clip():
    clip = torch.tensor([0.83], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda c: clahe_luts(_hist_pair(), c, 1000, exact=False), (clip,)
    )


def test_exact_tables_take_the_slope_between_consecutive_integer_clips():
    hist, tile_pixels = _hist_pair().float(), 1000
    clip = torch.tensor([3.25 * 256 / tile_pixels], requires_grad=True)
    luts = clahe_luts(hist, clip, tile_pixels)
    at_3 = clahe_luts(hist, torch.tensor([3 * 256 / tile_pixels]), tile_pixels)
    at_4 = clahe_luts(hist, torch.tensor([4 * 256 / tile_pixels]), tile_pixels)
    assert torch.equal(luts, at_3)
    (grad,) = torch.autograd.grad(luts.sum(), clip)
    expected = (at_4 - at_3).sum() * tile_pixels / 256
    assert grad.item() != 0
    assert torch.allclose(grad, expected)


def test_clip_below_one_count_is_flat():
    clip = torch.tensor([0.1], requires_grad=True)
    luts = clahe_luts(_hist_pair().float(), clip, 1000)
    (grad,) = torch.autograd.grad(luts.sum(), clip)
    assert grad.item() == 0
