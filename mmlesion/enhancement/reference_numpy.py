"""Straightforward per-image NumPy/OpenCV GLCAE, written the way the paper describes it.

This is the baseline the batched torch ops are measured against
(``projects/enhancement_benchmark/tools/benchmark_enhancement.py``) and a readable statement
of the algorithm:
one ``(H, W)`` image at a time, ``lam`` found by ``scipy.optimize.minimize_scalar`` over the
tone distortion ``D(lam)`` evaluated with the O(L^2) double loop over gray-level pairs, OpenCV's
CLAHE, weights from ``cv2.Laplacian`` and fusion with ``cv2.pyrDown`` / ``cv2.pyrUp``. It is
deliberately not optimised and not used by the library ops; conventions (occupied levels, the
rounded mapping, the saturated Laplacian) are those of :mod:`mmlesion.enhancement`.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

LEVELS = 256


def stretch_to_uint8(image: np.ndarray) -> np.ndarray:
    """Linear stretch of an ``(H, W)`` image to ``[0, 255]``, rounded to uint8."""
    image = image.astype(np.float64)
    low, high = image.min(), image.max()
    if high <= low:
        return np.clip(np.round(image), 0, 255).astype(np.uint8)
    return np.round((image - low) * 255.0 / (high - low)).astype(np.uint8)


def mapping(prob: np.ndarray, lam: float) -> np.ndarray:
    """``T(k) = round(255 * cdf(k))`` of ``(prob + lam / 256) / (1 + lam)``; ``(256,)`` int."""
    modified = (prob + lam / LEVELS) / (1.0 + lam)
    return np.clip(np.round(np.cumsum(modified) * (LEVELS - 1)), 0, LEVELS - 1).astype(np.int64)


def tone_distortion_bruteforce(hist: Sequence[float], table: Sequence[int]) -> int:
    """``max (i - j)`` over occupied levels ``i > j`` with ``table[i] == table[j]`` (O(L^2)).

    ``hist`` and ``table`` are 256-long arrays or lists (counts and the gray-level mapping).
    """
    distortion = 0
    for i in range(LEVELS):
        for j in range(i):
            if hist[i] > 0 and hist[j] > 0 and table[i] == table[j]:
                distortion = max(distortion, i - j)
    return distortion


def global_branch(image: np.ndarray, lam_max: float = 1e3) -> tuple[np.ndarray, float]:
    """Histogram modification of a uint8 image with ``lam`` minimising ``D``; uint8, ``lam``."""
    from scipy.optimize import minimize_scalar

    hist = np.bincount(image.ravel(), minlength=LEVELS).astype(np.float64)
    prob = hist / hist.sum()

    def distortion(lam: float) -> float:
        return tone_distortion_bruteforce(hist, mapping(prob, lam))

    lam = float(minimize_scalar(distortion, bounds=(0.0, lam_max), method='bounded').x)
    if np.count_nonzero(hist) == 1:
        return image.copy(), lam
    return mapping(prob, lam)[image].astype(np.uint8), lam


def fusion_weight(image: np.ndarray) -> np.ndarray:
    """``min(contrast, brightness)`` of a uint8 image; float64 ``(H, W)``."""
    contrast = cv2.convertScaleAbs(cv2.Laplacian(image, cv2.CV_16S, ksize=3)).astype(np.float64)
    contrast = contrast / max(contrast.max(), 1e-12) + 1e-5
    scaled = image.astype(np.float64)
    span = scaled.max() - scaled.min()
    scaled = (scaled - scaled.min()) / span if span > 0 else np.zeros_like(scaled)
    brightness = np.exp(-((scaled - 0.5) ** 2) / (2 * 0.2**2))
    return np.minimum(contrast, brightness)


def pyramid_fusion(a: np.ndarray, b: np.ndarray, weight_a: np.ndarray, levels: int) -> np.ndarray:
    """Laplacian-pyramid blend of two float images with OpenCV's pyramids."""
    gauss_a, gauss_b, gauss_w = [a.astype(np.float32)], [b.astype(np.float32)], [weight_a]
    for _ in range(levels - 1):
        gauss_a.append(cv2.pyrDown(gauss_a[-1]))
        gauss_b.append(cv2.pyrDown(gauss_b[-1]))
        gauss_w.append(cv2.pyrDown(gauss_w[-1].astype(np.float32)))

    def band(gauss: list[np.ndarray], k: int) -> np.ndarray:
        if k == levels - 1:
            return gauss[k]
        height, width = gauss[k].shape
        return gauss[k] - cv2.pyrUp(gauss[k + 1], dstsize=(width, height))

    out = None
    for k in range(levels - 1, -1, -1):
        fused = gauss_w[k] * band(gauss_a, k) + (1 - gauss_w[k]) * band(gauss_b, k)
        if out is None:
            out = fused
        else:
            height, width = fused.shape
            out = fused + cv2.pyrUp(out, dstsize=(width, height))
    return out


def glcae_reference(
    image: np.ndarray, clip_limit: float, grid_size: int, levels: int
) -> tuple[np.ndarray, float]:
    """GLCAE of one ``(H, W)`` image (any dtype/range); float64 output in ``[0, 1]`` and ``lam``.

    ``levels`` is the number of pyramid levels (base included).
    """
    stretched = stretch_to_uint8(image)
    global_image, lam = global_branch(stretched)
    local_image = cv2.createCLAHE(clip_limit, (grid_size, grid_size)).apply(stretched)
    weight_global = fusion_weight(global_image)
    weight_local = fusion_weight(local_image)
    share = (weight_global / (weight_global + weight_local)).astype(np.float32)
    fused = pyramid_fusion(global_image / 255.0, local_image / 255.0, share, levels)
    return np.clip(fused, 0.0, 1.0).astype(np.float64), lam
