"""Throughput of the GLCAE enhancement ops against OpenCV, a NumPy baseline and kornia.

Prints a Markdown table (ms per image, images per second, speed-up over the straightforward
NumPy GLCAE of ``mmlesion.enhancement.reference_numpy``) for ``SIZE x SIZE`` synthetic CT-like
slices:

* OpenCV CLAHE, uint8, one image at a time;
* the NumPy/OpenCV GLCAE baseline, one image at a time;
* ``mmlesion.enhancement.clahe`` and ``glcae`` on CPU (``--cpu-batch``) and, when CUDA is
  available, on the GPU (``--cuda-batch``); on CPU ``glcae`` twice, through its fused kernel
  (what inference uses, :mod:`mmlesion.enhancement.native`) and through its torch ops (what
  training uses), when the kernel is compiled;
* ``kornia.enhance.equalize_clahe`` on the same batches, when kornia is installed.

Forward passes only, under ``torch.no_grad``; each figure is the median over ``--repeats`` timed
runs after ``--warmup`` runs (CUDA timings synchronise). Example::

    python projects/enhancement_benchmark/tools/benchmark_enhancement.py \\
        --cpu-batch 16 --cuda-batch 64
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial

import cv2
import numpy as np
import torch

from mmlesion.enhancement import clahe, default_levels, glcae, native
from mmlesion.enhancement.reference_numpy import glcae_reference


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--size', type=int, default=512, help='image side in pixels')
    parser.add_argument('--clip', type=float, default=2.0, help='CLAHE clip limit')
    parser.add_argument('--grid', type=int, default=8, help='CLAHE tiles per side')
    parser.add_argument('--cpu-batch', type=int, default=16)
    parser.add_argument('--cuda-batch', type=int, default=64)
    parser.add_argument('--baseline-images', type=int, default=3, help='images for the slow rows')
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--skip-baseline', action='store_true', help='skip the NumPy GLCAE')
    return parser.parse_args()


def synthetic_slices(count: int, size: int, seed: int = 0) -> np.ndarray:
    """``(count, size, size)`` uint8 CT-like slices: a textured body with organs, low contrast."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
    slices = []
    for _ in range(count):
        body = ((xx / 0.42) ** 2 + (yy / 0.33) ** 2 < 1).astype(np.float32) * 90
        for _ in range(6):
            cx, cy, r = rng.uniform(-0.25, 0.25), rng.uniform(-0.2, 0.2), rng.uniform(0.03, 0.1)
            body += ((xx - cx) ** 2 + (yy - cy) ** 2 < r**2) * rng.uniform(-25, 40)
        texture = cv2.GaussianBlur(rng.normal(0, 12, (size, size)).astype(np.float32), (0, 0), 3)
        slices.append(np.clip(body + texture * (body > 0) + 20, 0, 255).astype(np.uint8))
    return np.stack(slices)


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int, cuda: bool) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu_model() -> str:
    """``model name`` from /proc/cpuinfo where available."""
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    args = parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    levels = default_levels(args.size, args.size)
    images = synthetic_slices(max(args.cpu_batch, args.cuda_batch, args.baseline_images), args.size)
    rows: list[tuple[str, str, int, float]] = []

    def record(name: str, device: str, batch: int, fn: Callable[..., object], *fn_args) -> None:
        seconds = median_seconds(
            lambda: fn(*fn_args), args.repeats, args.warmup, cuda=device == 'cuda'
        )
        rows.append((name, device, batch, seconds / batch))

    few = list(images[: args.baseline_images])
    opencv = cv2.createCLAHE(args.clip, (args.grid, args.grid))
    record('OpenCV CLAHE (uint8)', 'cpu', len(few), lambda: [opencv.apply(im) for im in few])
    if not args.skip_baseline and importlib.util.find_spec('scipy') is not None:
        record(
            'NumPy GLCAE (reference_numpy)',
            'cpu',
            len(few),
            lambda: [glcae_reference(im, args.clip, args.grid, levels) for im in few],
        )
    kornia_clahe = None
    if importlib.util.find_spec('kornia') is not None:
        from kornia.enhance import equalize_clahe as kornia_clahe

    devices = [('cpu', args.cpu_batch)]
    if torch.cuda.is_available():
        devices.append(('cuda', args.cuda_batch))
    grid = (args.grid, args.grid)
    for device, batch in devices:
        x = torch.from_numpy(images[:batch]).to(device)[:, None].float() / 255
        with torch.no_grad():
            record('mmlesion clahe', device, batch, clahe, x, args.clip, args.grid)
            if kornia_clahe is not None:
                record('kornia equalize_clahe', device, batch, kornia_clahe, x, args.clip, grid)
            if device == 'cpu' and native.available():
                record(
                    'mmlesion glcae (fused CPU kernel)',
                    device,
                    batch,
                    glcae,
                    x,
                    args.clip,
                    args.grid,
                )
                record(
                    'mmlesion glcae (torch ops)',
                    device,
                    batch,
                    partial(glcae, backend='torch'),
                    x,
                    args.clip,
                    args.grid,
                )
            else:
                record('mmlesion glcae (torch ops)', device, batch, glcae, x, args.clip, args.grid)

    baseline = {name: t for name, _, _, t in rows}.get('NumPy GLCAE (reference_numpy)')
    print(f'{args.size}x{args.size}, clip {args.clip}, grid {args.grid}, torch {torch.__version__}')
    print(f'CPU: {cpu_model()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads')
    if torch.cuda.is_available():
        print(f'CUDA device: {torch.cuda.get_device_name()}')
    print('\n| method | device | batch | ms/img | img/s | vs NumPy GLCAE |')
    print('|---|---|---:|---:|---:|---:|')
    for name, device, batch, per_image in rows:
        speedup = f'{baseline / per_image:.0f}x' if baseline else '-'
        print(
            f'| {name} | {device} | {batch} | {per_image * 1e3:.2f} | {1 / per_image:.0f} | '
            f'{speedup} |'
        )


if __name__ == '__main__':
    main()
