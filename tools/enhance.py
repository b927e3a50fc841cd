"""Enhance CT slices or images with GLCAE and write before | after PNGs.

Inputs: a DeepLesion 16-bit PNG (HU = value - 32768, shown through ``--window``), an 8-bit image
(colour is converted to gray), or a folder of them (searched recursively). The parameters are
``--clip``/``--grid``, or chosen per image by a trained enhancer's regressor (``--checkpoint``;
its config is read from the checkpoint unless ``--config`` is given). For every input
``DIR/a/b.png`` the tool writes ``OUT/a/b_glcae.png`` (a non-PNG input keeps its extension in the
name: ``DIR/a/b.jpg`` -> ``OUT/a/b.jpg_glcae.png``): the input and the enhanced image side by side
under a title with the parameters used and the global branch's ``lam``. Each PNG is written
atomically (``mmlesion/utils/atomic_write.py``). An image that cannot be read or enhanced is
reported and skipped; the tool goes on with the others and exits non-zero with a summary.

    python tools/enhance.py Images_png/000001_01_01 --clip 2.0 --grid 8 --out work_dirs/enh
    python tools/enhance.py Images_png/000001_01_01 --checkpoint enhancer.pth --out work_dirs/enh
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from mmlesion.datasets.transforms import read_deeplesion_png, window_hu
from mmlesion.enhancement import blend, glcae
from mmlesion.models.regressors import build_regressor_from_checkpoint
from mmlesion.utils import (
    UNSAFE_LOAD_HELP,
    allow_unsafe_checkpoints,
    atomic_write_image,
    flush_denormals,
)

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


def _find_images(root: Path, out: Path) -> list[Path]:
    """The image files under ``root`` (or ``root`` itself), sorted, leaving out anything under
    ``out``: a rerun into an output folder inside the input must not enhance its own outputs."""
    if root.is_file():
        return [root]
    out = out.resolve()
    return sorted(
        p
        for p in root.rglob('*')
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and out not in p.resolve().parents
    )


def output_names(paths: list[Path], root: Path) -> list[Path]:
    """Where each input's PNG goes, relative to the output folder: its path relative to
    ``root`` with ``_glcae.png`` after the stem (``a/b.png`` -> ``a/b_glcae.png``) or, for any
    other format, after the whole name (``a/b.jpg`` -> ``a/b.jpg_glcae.png``), so that ``b.png``
    and ``b.jpg`` in one folder do not share an output.

    Raises:
        ValueError: two inputs would still share an output (``b.jpg`` and ``b.jpg.png``), or an
            output is also the folder of another; nothing has been written then.
    """
    names = []
    for path in paths:
        relative = path.relative_to(root)
        stem = relative.stem if relative.suffix.lower() == '.png' else relative.name
        names.append(relative.with_name(f'{stem}_glcae.png'))
    owners: dict[Path, Path] = {}
    for path, name in zip(paths, names, strict=True):
        if name in owners:
            raise ValueError(f'{owners[name]} and {path} would both be written to {name}')
        owners[name] = path
    for name, path in owners.items():
        for folder in name.parents:
            if folder in owners:
                raise ValueError(
                    f'the output of {owners[folder]} ({folder}) is also the folder of the output '
                    f'of {path} ({name})'
                )
    return names


def _read_unit_image(path: Path, window_hu_range: tuple[float, float]) -> np.ndarray:
    """Read an image as float32 ``(H, W)`` in ``[0, 1]``: a 16-bit gray image as a DeepLesion
    slice through the HU window, an 8-bit or a colour 16-bit image as an ordinary (gray) image
    scaled by its dtype's maximum, a float image (a float TIFF) as it is if its values are in
    ``[0, 1]``.

    Raises:
        ValueError: the file cannot be read, has a dtype other than those, or is a float image
            with values outside ``[0, 1]`` (NaN included), whose scale is unknown.
    """
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f'cannot read image {path}')
    if image.dtype == np.uint16 and image.ndim == 2:
        return window_hu(read_deeplesion_png(str(path)), *window_hu_range) / 255.0
    if image.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        image = cv2.cvtColor(image, code)
    if image.dtype in (np.uint8, np.uint16):
        return image.astype(np.float32) / np.iinfo(image.dtype).max
    if np.issubdtype(image.dtype, np.floating):
        low, high = float(image.min()), float(image.max())
        if not (0.0 <= low and high <= 1.0):  # also False for NaN
            raise ValueError(
                f'{path}: a {image.dtype} image must hold values in [0, 1], found '
                f'[{low:g}, {high:g}]; rescale it or save it as 8- or 16-bit'
            )
        return image.astype(np.float32)
    raise ValueError(
        f'{path}: expected an 8- or 16-bit unsigned or a float image, got {image.dtype}'
    )


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
    paths = _find_images(args.input, args.out)
    if not paths:
        raise SystemExit(f'no images found in {args.input}')
    regressor = None
    if args.unsafe_load_checkpoint:
        allow_unsafe_checkpoints()
    if args.checkpoint:
        regressor = build_regressor_from_checkpoint(args.checkpoint, args.config).to(args.device)
    root = args.input if args.input.is_dir() else args.input.parent
    try:
        names = output_names(paths, root)
    except ValueError as error:
        raise SystemExit(f'refusing to overwrite an output: {error}') from error
    failures = []
    for path, name in zip(paths, names, strict=True):
        try:
            clip, grid = _enhance_one(path, args.out / name, regressor, args)
        except (ValueError, OSError, cv2.error) as error:
            print(f'{path}: skipped: {error}', file=sys.stderr)
            failures.append(path)
            continue
        print(f'{path} -> {args.out / name}  (clip {clip:.2f}, grid {grid:.2f})')
    if failures:
        listed = '\n  '.join(str(p) for p in failures)
        raise SystemExit(
            f'{len(failures)} of {len(paths)} images failed (reasons above):\n  {listed}'
        )


def _enhance_one(
    path: Path, out_file: Path, regressor: torch.nn.Module | None, args: argparse.Namespace
) -> tuple[float, float]:
    """Enhance one image and write its side-by-side PNG to ``out_file``; the (clip, grid) used.

    A regressor with the blend gate also gives ``alpha``: the image written is then
    ``x + alpha * (GLCAE(x) - x)``, as the detector would see it."""
    image = _read_unit_image(path, tuple(args.window))
    x = torch.from_numpy(image)[None, None].to(args.device)
    alpha = None
    with torch.no_grad():
        if regressor is None:
            clip, grid = args.clip, args.grid
        else:
            clip, grid, *gate = (v.item() for v in regressor(x))
            alpha = gate[0] if gate else None
        enhanced, lam = glcae(x, clip, grid, return_lambda=True)
        if alpha is not None:
            enhanced = blend(x, enhanced, x.new_tensor([alpha]))
    title = f'{path.name}  clip {clip:.2f}  grid {grid:.2f}  lambda {lam.item():.3g}'
    if alpha is not None:
        title += f'  alpha {alpha:.3g}'
    canvas = _side_by_side(image, enhanced[0, 0].cpu().numpy(), title)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_image(out_file, canvas)
    return clip, grid


if __name__ == '__main__':
    main()
