"""Grad-CAM of the CLAHE parameter regressor: which parts of a slice drive its choice.

A small implementation with forward/backward hooks rather than the ``grad-cam`` package: the
regressor has two scalar regression heads, not class logits, so the package's targets and
wrappers would all need replacing, and its dependencies (ttach, a second OpenCV flavour next to
mmcv's) are not worth 40 lines.

For a head's output ``y`` (the unbounded score before its squashing, so that saturation does not
hide the map) and the activations ``A`` ``(K, h, w)`` of a trunk layer (default: the last
stage), Grad-CAM (Selvaraju et al., 2017) is ``relu(sum_k alpha_k A_k)`` with
``alpha_k = mean over (h, w) of dy/dA_k``, upsampled to the input and scaled to [0, 1] per
image. ``direction=-1`` maps what pushes the score *down* instead (a lower clip limit, fewer
tiles), which a regression has as much reason to show as what pushes it up.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

HEADS = ('clip', 'grid')


def regressor_gradcam(
    regressor: nn.Module,
    key_slice: Tensor,
    head: str = 'clip',
    layer: nn.Module | None = None,
    direction: int = 1,
) -> Tensor:
    """Grad-CAM maps of one regressor head.

    Args:
        regressor: a :class:`~mmlesion.models.regressors.CLAHEParamRegressor`.
        key_slice: ``(B, 1, H, W)`` float in [0, 1], the regressor's input.
        head: ``'clip'`` (clip limit) or ``'grid'`` (grid size).
        layer: the module whose output is explained; default the trunk's last stage.
        direction: ``1`` for what raises the head's output, ``-1`` for what lowers it.

    Returns:
        ``(B, H, W)`` float in [0, 1] (all zero where nothing pushes that way).
    """
    if head not in HEADS:
        raise ValueError(f'head must be one of {HEADS}, got {head!r}')
    if direction not in (1, -1):
        raise ValueError(f'direction must be 1 or -1, got {direction}')
    if layer is None:
        layer = getattr(regressor.trunk, regressor.trunk.res_layers[-1])
    captured: dict[str, Tensor] = {}

    def keep_activation(_module, _inputs, output):
        output.retain_grad()
        captured['activation'] = output

    handle = layer.register_forward_hook(keep_activation)
    was_training = regressor.training
    regressor.eval()
    try:
        with torch.enable_grad():
            # An input that requires grad keeps the graph even when the weights are frozen.
            scores = regressor.scores(key_slice.detach().requires_grad_(True))
            target = scores[:, HEADS.index(head)] * direction
            regressor.zero_grad(set_to_none=True)
            target.sum().backward()
    finally:
        handle.remove()
        regressor.zero_grad(set_to_none=True)  # leave no gradient behind in the weights
        regressor.train(was_training)
    activation = captured['activation']
    weights = activation.grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True)).detach()
    cam = F.interpolate(cam, size=key_slice.shape[-2:], mode='bilinear', align_corners=False)
    peak = cam.flatten(1).amax(dim=1).clamp(min=1e-12)[:, None, None, None]
    return (cam / peak)[:, 0]


def gradcam_overlay(image: np.ndarray, cam: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """A gray slice with a Grad-CAM map blended over it in the jet colour map.

    Args:
        image: ``(H, W)`` slice in [0, 1].
        cam: ``(H, W)`` map in [0, 1].
        alpha: weight of the map.

    Returns:
        ``(H, W, 3)`` uint8 BGR.
    """
    gray = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    heat = cv2.applyColorMap(np.round(np.clip(cam, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.addWeighted(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), 1 - alpha, heat, alpha, 0)
