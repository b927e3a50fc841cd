"""Check a gated enhancer against the detector alone on validation; write the checkpoint to deploy.

python tools/gate_check.py CONFIG CHECKPOINT --out DEPLOY.pth [--data-root DIR] [--min-gain 0]

Both are scored on the validation split, and the paired-bootstrap interval of their mAP
difference decides the gate (``mmlesion/apis/gate_check.py``): open only when the interval's
lower bound is above ``--min-gain`` points; closed otherwise, so that the written checkpoint
detects exactly what the detector alone detects. Test ``DEPLOY.pth`` with ``tools/test.py``.
"""

from __future__ import annotations

import argparse
import os.path as osp

from mmengine.config import DictAction

from mmlesion.apis.gate_check import check_gate
from mmlesion.utils import (
    UNSAFE_LOAD_HELP,
    allow_unsafe_checkpoints,
    default_work_dir,
    flush_denormals,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='the gated enhancer config')
    parser.add_argument('checkpoint', help='the trained gated enhancer')
    parser.add_argument('--out', required=True, help='the checkpoint with the decided gate')
    parser.add_argument(
        '--data-root', help='one DeepLesion folder (DL_info.csv, Images_png/) for the split'
    )
    parser.add_argument('--work-dir', help='where the two validation runs go')
    parser.add_argument('--split', default='val', help='the split scored (default: val)')
    parser.add_argument(
        '--min-gain',
        type=float,
        default=0.0,
        help='mAP points the interval lower bound must exceed to keep the gate (default 0)',
    )
    parser.add_argument('--resamples', type=int, default=1000, help='bootstrap resamples')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config fields: key=value'
    )
    parser.add_argument('--unsafe-load-checkpoint', action='store_true', help=UNSAFE_LOAD_HELP)
    return parser.parse_args()


def main() -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args()
    if args.unsafe_load_checkpoint:
        allow_unsafe_checkpoints()
    work_dir = args.work_dir or osp.join(default_work_dir(args.config), 'gate_check')
    decision = check_gate(
        args.config,
        args.checkpoint,
        args.out,
        work_dir,
        args.cfg_options,
        data_root=args.data_root,
        split=args.split,
        min_gain=args.min_gain,
        num_resamples=args.resamples,
    )
    print(decision.describe())
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
