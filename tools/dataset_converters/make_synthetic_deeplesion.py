"""Generate a synthetic DeepLesion data set in the real on-disk format.

    python tools/dataset_converters/make_synthetic_deeplesion.py --out data/synthetic_deeplesion \
        --num-patients 40 --seed 0 [--difficulty 0.5] [--image-size 256] [--site b] [--workers 2]

Writes ``DL_info.csv``, ``Images_png/``, ``synthetic_acquisition.csv`` and ``synthetic_site.json``
under ``--out`` and prints what it generated. Same arguments, same bytes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable

from mmlesion.datasets.synthetic import SITES, SyntheticConfig, generate_dataset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = SyntheticConfig()
    parser = argparse.ArgumentParser(description='Generate a synthetic DeepLesion data set')
    parser.add_argument('--out', required=True, help='output folder (created if missing)')
    parser.add_argument('--num-patients', type=int, default=defaults.num_patients)
    parser.add_argument('--seed', type=int, default=defaults.seed, help='master seed (>= 0)')
    parser.add_argument(
        '--difficulty',
        type=float,
        default=defaults.difficulty,
        help='0: every series clean; 1: most series low-contrast, noisy and/or shaded',
    )
    parser.add_argument(
        '--image-size',
        type=int,
        default=defaults.image_size,
        help='slice size in pixels (the field of view stays 300-500 mm)',
    )
    parser.add_argument(
        '--site',
        choices=sorted(SITES),
        default=defaults.site,
        help='acquisition site: a (reference) or b (low dose, sharp kernel; other patients)',
    )
    parser.add_argument(
        '--context-mm',
        type=float,
        default=defaults.context_mm,
        help='store slices at least this far (mm) on each side of every key slice',
    )
    parser.add_argument(
        '--min-slices-per-side',
        type=int,
        default=defaults.min_slices_per_side,
        help='and at least this many slices on each side',
    )
    parser.add_argument(
        '--unlabelled-fraction',
        type=float,
        default=defaults.unlabelled_fraction,
        help='fraction of lesions written as Coarse_lesion_type -1, in every split',
    )
    parser.add_argument(
        '--real-style-unlabelled-train',
        action='store_true',
        help='write the whole train split as -1, like the real release',
    )
    parser.add_argument(
        '--workers',
        type=int,
        default=min(2, os.cpu_count() or 1),
        help='processes rendering patients in parallel (the output does not depend on it)',
    )
    parser.add_argument('--overwrite', action='store_true', help='replace an existing data set')
    return parser.parse_args(argv)


def progress_bar(results: Iterable, total: int) -> Iterable:
    """tqdm when installed, else a line every 10 % of the patients."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _printed_progress(results, total)
    return tqdm(results, total=total, unit='patient', desc='generating', disable=None)


def _printed_progress(results: Iterable, total: int) -> Iterable:
    step = max(1, total // 10)
    for done, result in enumerate(results, start=1):
        if done % step == 0 or done == total:
            print(f'generated {done}/{total} patients', flush=True)
        yield result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = SyntheticConfig(
            num_patients=args.num_patients,
            seed=args.seed,
            difficulty=args.difficulty,
            image_size=args.image_size,
            context_mm=args.context_mm,
            min_slices_per_side=args.min_slices_per_side,
            unlabelled_fraction=args.unlabelled_fraction,
            real_style_unlabelled_train=args.real_style_unlabelled_train,
            site=args.site,
        )
        summary = generate_dataset(
            args.out,
            config,
            workers=args.workers,
            progress=progress_bar,
            overwrite=args.overwrite,
        )
    except (ValueError, FileExistsError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print(summary.format())
    return 0


if __name__ == '__main__':
    sys.exit(main())
