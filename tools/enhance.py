"""Enhance CT slices or images with GLCAE and write before | after PNGs.

Inputs: a DeepLesion 16-bit PNG (HU = value - 32768, shown through ``--window``), an 8-bit image
(colour is converted to gray), or a folder of them (searched recursively). The parameters are
``--clip``/``--grid``, or chosen per image by a trained enhancer's regressor (``--checkpoint``;
its config is read from the checkpoint unless ``--config`` is given). For every input
``DIR/a/b.png`` the tool writes ``OUT/a_b_glcae.png``: the input and the enhanced image side by
side under a title with the parameters used and the global branch's ``lam``.

    python tools/enhance.py Images_png/000001_01_01 --clip 2.0 --grid 8 --out work_dirs/enh
    python tools/enhance.py Images_png/000001_01_01 --checkpoint enhancer.pth --out work_dirs/enh
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from mmlesion.datasets.transforms import read_deeplesion_png, window_hu
from mmlesion.enhancement import glcae
from mmlesion.models.regressors import build_regressor_from_checkpoint
from mmlesion.utils import UNSAFE_LOAD_HELP, allow_unsafe_checkpoints, flush_denormals

IMAGE_SUFFIXES = {'.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff'}
TITLE_HEIGHT = 28


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('input', type=Path, help='image file or folder')
    parser.add_argument('--out', type=Path, required=True, help='output folder')
    parser.add_argument('--clip', type=float, default=2.0, help='CLAHE clip limit (OpenCV)')
    parser.add_argument('--grid', type=float, default=8.0, help='CLAHE tiles per side')
    parser.add_argument('--checkpoint', help='trained enhancer: choose (clip, grid) per image')
    parser.add_argument('--config', help='the enhancer config, if its checkpoint carries none')
    parser.add_argument('--unsafe-load-checkpoint', action='store_true', help=UNSAFE_LOAD_HELP)
    parser.add_argument(
        '--window',
        type=float,
        nargs=2,
        default=(-1024.0, 1050.0),
        metavar=('LOW_HU', 'HIGH_HU'),
        help='HU window for 16-bit DeepLesion PNGs (default: -1024 1050, the demo window)',
    )
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    return parser.parse_args()


def _find_images(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES)


def _read_unit_image(path: Path, window_hu_range: tuple[float, float]) -> np.ndarray:
    """Read an image as float32 ``(H, W)`` in ``[0, 1]``: a 16-bit PNG as a DeepLesion slice
    through the HU window, anything else as an ordinary (gray) image."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f'cannot read image {path}')
    if image.dtype == np.uint16 and image.ndim == 2:
        return window_hu(read_deeplesion_png(str(path)), *window_hu_range) / 255.0
    if image.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        image = cv2.cvtColor(image, code)
    return image.astype(np.float32) / np.iinfo(image.dtype).max


def _side_by_side(before: np.ndarray, after: np.ndarray, title: str) -> np.ndarray:
    """uint8 ``[before | after]`` under a title strip."""
    pair = np.concatenate((before, after), axis=1)
    pair = np.round(pair * 255).astype(np.uint8)
    canvas = np.zeros((pair.shape[0] + TITLE_HEIGHT, pair.shape[1]), dtype=np.uint8)
    canvas[TITLE_HEIGHT:] = pair
    cv2.putText(canvas, title, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 255, 1, cv2.LINE_AA)
    return canvas


def main() -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args()
    paths = _find_images(args.input)
    if not paths:
        raise SystemExit(f'no images found in {args.input}')
    regressor = None
    if args.unsafe_load_checkpoint:
        allow_unsafe_checkpoints()
    if args.checkpoint:
        regressor = build_regressor_from_checkpoint(args.checkpoint, args.config).to(args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    root = args.input if args.input.is_dir() else args.input.parent
    for path in paths:
        image = _read_unit_image(path, tuple(args.window))
        x = torch.from_numpy(image)[None, None].to(args.device)
        with torch.no_grad():
            if regressor is None:
                clip, grid = args.clip, args.grid
            else:
                clip, grid = (v.item() for v in regressor(x))
            enhanced, lam = glcae(x, clip, grid, return_lambda=True)
        title = f'{path.name}  clip {clip:.2f}  grid {grid:.2f}  lambda {lam.item():.3g}'
        canvas = _side_by_side(image, enhanced[0, 0].cpu().numpy(), title)
        name = '_'.join(path.relative_to(root).with_suffix('').parts) + '_glcae.png'
        cv2.imwrite(str(args.out / name), canvas)
        print(f'{path} -> {args.out / name}  (clip {clip:.2f}, grid {grid:.2f})')


if __name__ == '__main__':
    main()
