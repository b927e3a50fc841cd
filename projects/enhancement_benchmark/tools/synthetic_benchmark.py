"""The synthetic benchmark: the main job for several seeds, then the enhancer ablations.

Each seed generates its own data set and trains its own detector and enhancer (the main job's
configs, ``make demo``), plus what ``make demo`` skips, in front of both the main detector and
the detector trained without RandomGLCAE (its own enhancer): the validation-tuned baselines and
the oracles with identity among the candidates, the alpha sweep, the null and cross-fit
oracles, the gated enhancer, the setting policy and test-time augmentation; then the paired
bootstrap (each part can be switched off: --no-*). Finished stages are reused on a re-run.
The ablations retrain the enhancer in front of the first seed's detector. Writes the JSON the
tables of docs/en/results.md come from.

    python projects/enhancement_benchmark/tools/synthetic_benchmark.py --seeds 0 1 2 \\
        --out docs/results/synthetic_benchmark.json
    # the paper-size models on a GPU (the project's configs/gpu/); an existing --out file
    # keeps its other runs:
    python projects/enhancement_benchmark/tools/synthetic_benchmark.py --preset paper_gpu \\
        --seeds 0 --no-ablations --out docs/results/synthetic_benchmark.json
"""

import sys
from pathlib import Path

# The repository root on the path, so that `projects.enhancement_benchmark` imports from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import argparse

from mmlesion.utils import flush_denormals
from projects.enhancement_benchmark.benchmark.demo import PRESETS, DemoSettings
from projects.enhancement_benchmark.benchmark.fixed_setting_search import add_search_grid_arguments
from projects.enhancement_benchmark.benchmark.machine_description import (
    add_threads_argument,
    use_threads,
)
from projects.enhancement_benchmark.benchmark.synthetic_benchmark import (
    SELECTION,
    BenchmarkSettings,
    benchmark_markdown,
    run_benchmark,
)


def parse_args() -> argparse.Namespace:
    defaults = BenchmarkSettings()
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=list(defaults.seeds))
    parser.add_argument('--work-dir', default=defaults.work_dir)
    parser.add_argument('--out', default='docs/results/synthetic_benchmark.json')
    parser.add_argument('--preset', choices=sorted(PRESETS), default='demo')
    parser.add_argument('--num-patients', type=int, help="default: the preset's")
    parser.add_argument('--image-size', type=int, help="default: the preset's")
    parser.add_argument('--no-ablations', action='store_true', help='seeds only')
    parser.add_argument(
        '--no-noaug',
        action='store_true',
        help='skip the detector trained without RandomGLCAE (and its enhancer and baselines)',
    )
    parser.add_argument(
        '--no-noaug-enhancer',
        action='store_true',
        help='train no enhancer in front of the detector without RandomGLCAE',
    )
    parser.add_argument(
        '--no-baselines',
        action='store_true',
        help='skip glcae_tuned, glcae_per_profile and the oracle (the two setting sweeps)',
    )
    parser.add_argument(
        '--no-selection',
        action='store_true',
        help='baselines without identity, the alpha sweep and the null and cross-fit oracles',
    )
    parser.add_argument(
        '--no-gated',
        action='store_true',
        help='skip the enhancer with a blend gate (and its gate check)',
    )
    parser.add_argument(
        '--no-policy', action='store_true', help='skip the setting policies (their loss tables)'
    )
    parser.add_argument(
        '--no-tta', action='store_true', help='skip test-time augmentation (benchmark/tta.py)'
    )
    parser.add_argument(
        '--bootstrap-resamples', type=int, default=1000, help='paired bootstrap resamples'
    )
    add_search_grid_arguments(parser)
    add_threads_argument(parser)
    return parser.parse_args()


def main() -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args()
    use_threads(args.threads)
    settings = BenchmarkSettings(
        work_dir=args.work_dir,
        seeds=tuple(args.seeds),
        demo=DemoSettings.from_preset(
            args.preset,
            num_patients=args.num_patients,
            image_size=args.image_size,
            bootstrap_resamples=args.bootstrap_resamples,
            search_clips=tuple(args.search_clips) if args.search_clips else None,
            search_grids=tuple(args.search_grids) if args.search_grids else None,
        ),
        ablations=not args.no_ablations,
        noaug=not args.no_noaug,
        noaug_enhancer=not args.no_noaug_enhancer,
        baselines=not args.no_baselines,
        selection={} if args.no_selection else dict(SELECTION),
        gated=not args.no_gated,
        policy=not args.no_policy,
        tta=not args.no_tta,
    )
    result = run_benchmark(settings, args.out)
    for run in result['runs']:
        maps = ', '.join(f'{method} {value:.2f}' for method, value in run['map'].items())
        print(f'seed {run["seed"]}: mAP {maps}')
    for row in result.get('ablations', []):
        print(f'{row["ablation"]}: mAP {row["map"]:.2f}')
    print(benchmark_markdown(result))
    print(f'written: {args.out}')


if __name__ == '__main__':
    main()
