"""Where a training step goes: seconds a step of a config's model on pre-loaded batches (data
loading left out) and, unless --no-profile, the functions that take the time (cProfile,
cumulative and own time).

    python projects/enhancement_benchmark/tools/benchmark_train_step.py \\
        configs/demo/faster_rcnn_r18-w32_fpn_48e_synth.py
    python projects/enhancement_benchmark/tools/benchmark_train_step.py \\
        configs/demo/faster_rcnn_r18-w32_fpn_48e_synth.py \\
        --no-profile --steps 30 --cfg-options \\
        model.roi_head.bbox_roi_extractor.type=SingleRoIExtractor \\
        model.roi_head.bbox_roi_extractor.roi_layer.type=RoIAlign
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root on the path, so that `projects.enhancement_benchmark` imports from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import argparse

import torch
from mmengine.config import DictAction

from mmlesion.utils import flush_denormals, load_config
from projects.enhancement_benchmark.benchmark.machine_description import machine_description
from projects.enhancement_benchmark.benchmark.train_step_timing import time_train_steps


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--steps', type=int, default=20, help='timed steps')
    parser.add_argument('--warmup', type=int, default=3, help='untimed steps first')
    parser.add_argument('--top', type=int, default=25, help='functions listed per table')
    parser.add_argument('--no-profile', action='store_true', help='time only (no cProfile)')
    parser.add_argument('--work-dir', default='work_dirs/benchmark_train_step')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args()


def main() -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = args.work_dir
    seconds, stats = time_train_steps(cfg, args.steps, args.warmup, not args.no_profile)
    mode = 'profiled' if stats else 'not profiled'
    print(f'{machine_description()}; torch threads {torch.get_num_threads()}')
    print(f'{seconds:.3f} s a training step over {args.steps} pre-loaded batches ({mode})')
    if stats:
        stats.sort_stats('cumulative').print_stats(args.top)
        stats.sort_stats('tottime').print_stats(args.top)


if __name__ == '__main__':
    main()
