"""A frozen detector on a new scanner: the whole study in one command (resumable stages).

For every seed: generate site B, measure the detector alone on both sites, tune the fixed
enhancements (GLCAE, CLAHE, the CT-native window/denoise family) on site B's validation split,
train the enhancer variants in front of the frozen site-A detector and fine-tune the detector
itself on site B's train split, test-time augmentation, the oracle and null oracle, the
label-efficiency runs and the site-A check; then the paired bootstrap. Writes --out (JSON) and
the plot beside it (<out stem>_label_efficiency.png). Finished stages are skipped on a re-run
unless --force (benchmark/new_scanner.py).

    python projects/enhancement_benchmark/tools/new_scanner.py --seeds 0 1 2 \\
        --detector-checkpoint work_dirs/demo/detector/best_deeplesion_mAP_epoch_40.pth \\
        --site-a-data data/synthetic_deeplesion --out docs/results/new_scanner.json
"""

import sys
from pathlib import Path

# The repository root on the path, so that `projects.enhancement_benchmark` imports from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import argparse
import json
import shlex

import torch

from mmlesion.utils import flush_denormals
from projects.enhancement_benchmark.benchmark.fixed_setting_search import add_search_grid_arguments
from projects.enhancement_benchmark.benchmark.new_scanner import (
    LEARNED,
    NewScannerSettings,
    run_study,
)
from projects.enhancement_benchmark.benchmark.new_scanner_report import plot_path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    d = NewScannerSettings()
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default=d.work_dir)
    parser.add_argument('--seeds', type=int, nargs='+', default=list(d.seeds))
    parser.add_argument(
        '--detector-checkpoint',
        default=d.detector_checkpoint,
        help="the frozen site-A detector (make demo's; default: %(default)s)",
    )
    parser.add_argument(
        '--site-a-data', default=d.site_a_data, help="site A's data (its test split is used)"
    )
    parser.add_argument(
        '--site-b-data',
        default=d.site_b_data,
        help='site B of seed S is generated into <this>_seed<S> (default: %(default)s)',
    )
    parser.add_argument(
        '--site',
        default=d.site,
        help="the generator's site of the new scanner (default %(default)s; 'a' only tests "
        "the study's plumbing)",
    )
    parser.add_argument(
        '--num-patients',
        type=int,
        default=d.num_patients,
        help='site-B patients per seed, split 70/15/15 (default %(default)s)',
    )
    parser.add_argument('--image-size', type=int, default=d.image_size)
    parser.add_argument('--difficulty', type=float, default=d.difficulty)
    parser.add_argument('--data-workers', type=int, default=d.data_workers)
    parser.add_argument('--out', default='docs/results/new_scanner.json', help='the JSON written')
    parser.add_argument('--force', action='store_true', help='re-run finished stages')
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    parser.add_argument(
        '--no-window',
        action='store_true',
        help='leave out the CT-native window/denoise family (its grid and learned_window)',
    )
    parser.add_argument(
        '--learned',
        nargs='+',
        choices=list(LEARNED),
        default=list(LEARNED),
        help='the enhancer variants trained (default: all)',
    )
    parser.add_argument('--no-tta', action='store_true', help='skip test-time augmentation')
    parser.add_argument(
        '--label-sizes',
        type=int,
        nargs='+',
        default=list(d.label_sizes),
        help='labelled site-B patients of the label-efficiency runs (default: %(default)s)',
    )
    add_search_grid_arguments(parser)
    for flag, values, what in (
        ('--window-levels', d.window_levels_hu, 'level offsets, HU'),
        ('--window-widths', d.window_width_scales, 'width scales'),
        ('--window-denoise', d.window_denoise, 'denoising strengths'),
    ):
        parser.add_argument(
            flag,
            type=float,
            nargs='+',
            default=list(values),
            help=f"the CT-native grid's {what} (default: %(default)s)",
        )
    parser.add_argument(
        '--null-copies',
        type=int,
        default=d.null_copies,
        help="the null oracle's copies, the original included (0: no null oracle)",
    )
    parser.add_argument('--bootstrap-resamples', type=int, default=d.bootstrap_resamples)
    parser.add_argument(
        '--enhancer-options',
        type=json.loads,
        default={},
        help='JSON dict of --cfg-options of every enhancer config (sweeps, learned variants), '
        'e.g. \'{"train_cfg.max_epochs": 2}\'',
    )
    parser.add_argument(
        '--detector-options',
        type=json.loads,
        default={},
        help='JSON dict of --cfg-options of the fine-tuning and test-time augmentation runs',
    )
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> NewScannerSettings:
    d = NewScannerSettings()
    return NewScannerSettings(
        work_dir=args.work_dir,
        seeds=tuple(args.seeds),
        detector_checkpoint=args.detector_checkpoint,
        site_a_data=args.site_a_data,
        site_b_data=args.site_b_data,
        site=args.site,
        num_patients=args.num_patients,
        image_size=args.image_size,
        difficulty=args.difficulty,
        data_workers=args.data_workers,
        force=args.force,
        window_config=None if args.no_window else d.window_config,
        learned={name: LEARNED[name] for name in args.learned},
        search_clips=tuple(args.search_clips or d.search_clips),
        search_grids=tuple(args.search_grids or d.search_grids),
        window_levels_hu=tuple(args.window_levels),
        window_width_scales=tuple(args.window_widths),
        window_denoise=tuple(args.window_denoise),
        label_sizes=tuple(args.label_sizes),
        null_copies=args.null_copies,
        tta=not args.no_tta,
        bootstrap_resamples=args.bootstrap_resamples,
        enhancer_options=args.enhancer_options,
        detector_options=args.detector_options,
    )


def main(argv: list[str] | None = None) -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args(argv)
    if args.threads < 1:
        raise SystemExit(f'--threads must be at least 1, got {args.threads}')
    torch.set_num_threads(args.threads)
    settings = settings_from_args(args)
    words = (
        sys.argv if argv is None else ['projects/enhancement_benchmark/tools/new_scanner.py', *argv]
    )
    run_study(settings, args.out, command=shlex.join(['python', *words]))
    print(f'New-scanner study written to {args.out} and {plot_path(args.out)}')


if __name__ == '__main__':
    main()
