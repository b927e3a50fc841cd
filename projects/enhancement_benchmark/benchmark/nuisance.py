"""Nuisance copies of a slice: the same content shifted by a few pixels, optionally dithered.

A copy changes nothing a reader would call the image's content, yet moves a detector's output
(its anchors, strides and pooling grids are not shift-invariant). Choosing per slice among such
copies (:func:`~.oracle.null_oracle`) measures how much an oracle gains from selection alone;
choosing a setting on a copy and scoring it on the original (:func:`~.oracle.crossfit_choice`)
measures what survives of an oracle's choice when the noise it selected on is replaced.

Conventions:

- A shift ``(shift_y, shift_x)`` moves the content down and right by that many pixels of the
  model's input (after the test pipeline). The frame keeps its size: the rows and columns that
  come in are copies of the edge (replicate padding), the ones that leave are dropped. The
  slices' borders are air, so the replicated edge is air too; a lesion cut by the frame's edge
  is not (and a box is clipped to the frame when shifted back).
- Predictions, returned by the model in the original image's pixels, are shifted back by the
  shift divided by the sample's ``scale_factor``, then clipped to ``ori_shape``. The ground truth
  is never moved.
- The dither adds independent uniform noise in ``[-dither, dither]`` gray levels (of the
  inputs' 0..255 scale) to every pixel and channel, drawn from a generator seeded by the copy's
  ``seed`` and the slice's ``img_path``: the same copy of a slice is the same in every run.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import torch

from mmlesion.models.test_time_augs.shift_flip_tta import unshift_bboxes


@dataclass(frozen=True)
class Nuisance:
    """One nuisance copy: a shift in input pixels and a dither half-width in gray levels."""

    shift_y: int = 0
    shift_x: int = 0
    dither: float = 0.0
    seed: int = 0

    @property
    def is_identity(self) -> bool:
        return self.shift_y == 0 and self.shift_x == 0 and self.dither == 0.0

    def label(self) -> str:
        text = f'shift ({self.shift_y:+d}, {self.shift_x:+d}) px'
        return text + (f', dither ±{self.dither:g}' if self.dither else '')

    def as_dict(self) -> dict:
        return {
            'shift_y': self.shift_y,
            'shift_x': self.shift_x,
            'dither': self.dither,
            'seed': self.seed,
        }


#: The original slice.
NO_NUISANCE = Nuisance()


def shift_image(image: torch.Tensor, shift_y: int, shift_x: int) -> torch.Tensor:
    """``image`` ``(C, H, W)`` with its content moved by ``(shift_y, shift_x)`` pixels, the edge
    replicated into the rows and columns that come in; same shape and dtype."""
    if shift_y == 0 and shift_x == 0:
        return image
    height, width = image.shape[-2:]
    rows = (torch.arange(height, device=image.device) - shift_y).clamp(0, height - 1)
    cols = (torch.arange(width, device=image.device) - shift_x).clamp(0, width - 1)
    return image[..., rows[:, None], cols[None, :]]


def apply_nuisance(image: torch.Tensor, nuisance: Nuisance, key: str = '') -> torch.Tensor:
    """The nuisance copy of one input ``(C, H, W)`` (0..255 gray levels); ``key`` (the slice's
    ``img_path``) seeds its dither. The original tensor is returned when there is no nuisance;
    a dithered copy is float32."""
    out = shift_image(image, nuisance.shift_y, nuisance.shift_x)
    if nuisance.dither:
        generator = torch.Generator().manual_seed(
            nuisance.seed * 1_000_003 + zlib.crc32(key.encode())
        )
        noise = torch.rand(out.shape, generator=generator, dtype=torch.float32)
        out = out.float() + (2 * noise.to(out.device) - 1) * nuisance.dither
    return out


def unshift_boxes(
    boxes: np.ndarray,
    nuisance: Nuisance,
    scale_factor: tuple[float, float] = (1.0, 1.0),
    ori_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """Boxes ``(N, 4)`` x1y1x2y2 predicted on a shifted copy, in the original image's pixels,
    moved back to the original frame.

    Args:
        scale_factor: the sample's ``(w_scale, h_scale)`` from original to input pixels.
        ori_shape: ``(H, W)`` of the original image; the boxes are clipped to it.
    """
    if nuisance.shift_x == 0 and nuisance.shift_y == 0:
        return boxes
    boxes = np.asarray(boxes)
    shift = (nuisance.shift_x, nuisance.shift_y)
    out = unshift_bboxes(torch.from_numpy(boxes.astype(np.float64)), shift, scale_factor, ori_shape)
    return out.numpy().astype(boxes.dtype, copy=False)


def shift_copies(
    num_copies: int, max_shift: int, dither: float = 0.0, seed: int = 0
) -> list[Nuisance]:
    """The original slice and ``num_copies - 1`` nuisance copies.

    The shifts are distinct, drawn without replacement from the integer offsets of
    ``[-max_shift, max_shift]²`` other than ``(0, 0)`` by a generator seeded with ``seed``; each
    copy also gets the ``dither`` (the original does not). With ``max_shift = 0`` the copies are
    the original, dithered.
    """
    if num_copies < 1:
        raise ValueError(f'num_copies must be at least 1 (the original), got {num_copies}')
    if max_shift < 0:
        raise ValueError(f'max_shift must be >= 0 pixels, got {max_shift}')
    offsets = [
        (dy, dx)
        for dy in range(-max_shift, max_shift + 1)
        for dx in range(-max_shift, max_shift + 1)
        if (dy, dx) != (0, 0)
    ]
    extra = num_copies - 1
    if max_shift == 0:
        if extra and not dither:
            raise ValueError('copies without a shift need a dither, or they equal the original')
        return [NO_NUISANCE] + [Nuisance(0, 0, dither, seed + i) for i in range(extra)]
    if extra > len(offsets):
        raise ValueError(
            f'{extra} shifted copies asked for, but [-{max_shift}, {max_shift}]² has only '
            f'{len(offsets)} shifts'
        )
    picked = np.random.default_rng(seed).choice(len(offsets), size=extra, replace=False)
    return [NO_NUISANCE] + [
        Nuisance(offsets[i][0], offsets[i][1], dither, seed + n) for n, i in enumerate(picked)
    ]
