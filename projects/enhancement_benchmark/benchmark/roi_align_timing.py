"""Time two RoI layers on the same random feature maps and RoIs: forward alone, and forward +
backward (what a training step pays)."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import Tensor, nn


def random_rois(
    images: int, rois_per_image: int, image_size: int, generator: torch.Generator
) -> Tensor:
    """``(images * rois_per_image, 5)`` RoIs ``(image, x1, y1, x2, y2)`` in image pixels, 4 to
    60 % of the image on a side, a tenth of them reaching past its border."""
    rois = []
    for index in range(images):
        size = (torch.rand(rois_per_image, 2, generator=generator) * 0.56 + 0.04) * image_size
        corner = (torch.rand(rois_per_image, 2, generator=generator) * 1.1 - 0.05) * (
            image_size - size
        )
        boxes = torch.cat([corner, corner + size], dim=1)
        rois.append(torch.cat([torch.full((rois_per_image, 1), float(index)), boxes], dim=1))
    return torch.cat(rois)


def _seconds(run: Callable[[], None], repeats: int) -> float:
    run()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    return (time.perf_counter() - start) / repeats


def time_roi_layers(
    layers: dict[str, nn.Module],
    features_shape: tuple[int, int, int, int],
    rois_per_image: int,
    stride: int,
    repeats: int = 10,
    device: str = 'cpu',
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Milliseconds a call of each layer on the same inputs, and its largest difference from the
    first layer's output and feature gradient.

    Args:
        layers: name -> RoI layer (``(N, C, H, W)`` maps and ``(R, 5)`` RoIs in).
        features_shape: ``(N, C, H, W)`` of the feature maps.
        rois_per_image: RoIs on each of the ``N`` maps.
        stride: input pixels per feature pixel (the RoIs span ``H * stride`` pixels).

    Returns:
        name -> ``forward_ms``, ``forward_backward_ms``, ``max_abs_diff`` (output) and
        ``max_grad_diff``, the last two against the first layer.
    """
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(features_shape, generator=generator).to(device).requires_grad_(True)
    rois = random_rois(features_shape[0], rois_per_image, features_shape[2] * stride, generator).to(
        device
    )
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    results, reference = {}, None
    for name, layer in layers.items():
        layer = layer.to(device)

        def forward(layer: nn.Module = layer) -> None:
            with torch.no_grad():
                layer(features, rois)
            sync()

        def forward_backward(layer: nn.Module = layer) -> None:
            layer(features, rois).square().sum().backward()
            sync()

        pooled = layer(features, rois)
        (grad,) = torch.autograd.grad(pooled.square().sum(), features)
        if reference is None:
            reference = (pooled.detach(), grad)
        results[name] = {
            'forward_ms': 1e3 * _seconds(forward, repeats),
            'forward_backward_ms': 1e3 * _seconds(forward_backward, repeats),
            'max_abs_diff': float((pooled.detach() - reference[0]).abs().max()),
            'max_grad_diff': float((grad - reference[1]).abs().max()),
        }
    return results
