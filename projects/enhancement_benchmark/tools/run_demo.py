"""The main job on the embedded synthetic DeepLesion (``make demo``).

Generates the data, trains the demo detector, freezes it and trains the demo enhancer, then
compares the detector alone, fixed GLCAE, fixed CLAHE and the learned enhancer on the test
split. Writes results.md, results.json and figures into --work-dir. Finished stages are skipped
on a re-run unless --force; an interrupted training stage resumes from its last checkpoint.

    python projects/enhancement_benchmark/tools/run_demo.py [--work-dir work_dirs/demo] \\
        [--seed 0] [--force]
    # with the benchmark's optional stages (a detector without RandomGLCAE and its enhancer;
    # the validation-tuned baselines and the oracle):
    python projects/enhancement_benchmark/tools/run_demo.py --noaug --noaug-enhancer --baselines
    # and issue 29's measurements (identity among the candidates, the alpha sweep, the null and
    # cross-fit oracles; the gated enhancer, the setting policy, test-time augmentation):
    python projects/enhancement_benchmark/tools/run_demo.py --noaug --noaug-enhancer \
        --baselines --selection --gated --policy --tta
    # the paper-size models, on a GPU:
    python projects/enhancement_benchmark/tools/run_demo.py --preset paper_gpu
"""

import sys
from pathlib import Path

# The repository root on the path, so that `projects.enhancement_benchmark` imports from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import argparse
import json

from mmlesion.utils import flush_denormals
from projects.enhancement_benchmark.benchmark.demo import PRESETS, DemoPipeline, DemoSettings
from projects.enhancement_benchmark.benchmark.fixed_setting_search import add_search_grid_arguments
from projects.enhancement_benchmark.benchmark.machine_description import (
    add_threads_argument,
    use_threads,
)
from projects.enhancement_benchmark.benchmark.synthetic_benchmark import SELECTION


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Run the mmlesion demo end to end')
    parser.add_argument(
        '--preset',
        choices=sorted(PRESETS),
        default='demo',
        help='config set: the CPU demo, or the paper-size models for a GPU (configs/gpu/ here)',
    )
    # Unset options take the preset's value.
    parser.add_argument('--work-dir')
    parser.add_argument('--data-root')
    parser.add_argument('--seed', type=int)
    parser.add_argument('--num-patients', type=int)
    parser.add_argument('--image-size', type=int)
    parser.add_argument('--difficulty', type=float)
    parser.add_argument('--data-workers', type=int, help='processes generating the data')
    parser.add_argument('--force', action='store_true', help='re-run finished stages')
    add_threads_argument(parser)
    parser.add_argument(
        '--noaug',
        action='store_true',
        help='also train the detector without RandomGLCAE and test the fixed methods on it',
    )
    parser.add_argument(
        '--noaug-enhancer', action='store_true', help='and an enhancer in front of it'
    )
    parser.add_argument(
        '--baselines',
        action='store_true',
        help='also run glcae_tuned, glcae_per_profile and the oracle (two setting sweeps)',
    )
    parser.add_argument(
        '--selection',
        action='store_true',
        help='with --baselines: identity among the candidates, the alpha sweep, the null and '
        "cross-fit oracles (the benchmark's SelectionOptions)",
    )
    parser.add_argument(
        '--gated',
        action='store_true',
        help='also train and test the enhancer with a blend gate (learned_gated), and the same '
        'with its gate checked on val (learned_gated_checked, mmlesion.apis.check_gate)',
    )
    parser.add_argument(
        '--policy',
        action='store_true',
        help='also train and test the setting policies, on the detector loss and on 1 - slice '
        'AP (K detector passes over train and val, shared)',
    )
    parser.add_argument(
        '--tta',
        action='store_true',
        help='also test the detector alone under test-time augmentation (benchmark/tta.py)',
    )
    add_search_grid_arguments(parser)
    parser.add_argument(
        '--detector-config',
        help="the detector's config (default: the preset's). The enhancer and the compared "
        'pipelines build the detector from their own configs: it must build the same model '
        '(e.g. the same model with another schedule)',
    )
    parser.add_argument(
        '--detector-options',
        type=json.loads,
        default={},
        help='JSON dict of --cfg-options for the detector, e.g. \'{"train_cfg.max_epochs": 2}\'',
    )
    parser.add_argument(
        '--enhancer-options',
        type=json.loads,
        default={},
        help='JSON dict of --cfg-options for the enhancer and the evaluated pipelines',
    )
    return parser.parse_args()


def main() -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args()
    use_threads(args.threads)
    settings = DemoSettings.from_preset(
        args.preset,
        work_dir=args.work_dir,
        data_root=args.data_root,
        seed=args.seed,
        num_patients=args.num_patients,
        image_size=args.image_size,
        difficulty=args.difficulty,
        force=args.force,
        detector_config=args.detector_config,
        detector_options=args.detector_options,
        enhancer_options=args.enhancer_options,
        data_workers=args.data_workers,
        noaug=args.noaug or None,
        noaug_enhancer=args.noaug_enhancer or None,
        baselines=args.baselines or None,
        selection=dict(SELECTION) if args.selection else None,
        gated=args.gated or None,
        policy=args.policy or None,
        tta=args.tta or None,
        search_clips=tuple(args.search_clips) if args.search_clips else None,
        search_grids=tuple(args.search_grids) if args.search_grids else None,
    )
    report = DemoPipeline(settings).run()
    print(f'Demo finished in {report["total_s"]:.0f} s. Results: {settings.work_dir}/results.md')


if __name__ == '__main__':
    main()
