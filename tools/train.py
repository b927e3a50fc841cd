"""Train a detector or an enhancer from a config with the mmengine Runner.

python tools/train.py configs/faster_rcnn_r50_fpn_deeplesion.py [--data-root DIR] [--amp] [--resume]

Several processes (GPUs, or CPUs with gloo): bash tools/dist_train.sh CONFIG NUM_PROCESSES.
"""

import argparse
import os

from mmengine.config import DictAction
from mmengine.runner import Runner

from mmlesion.utils import (
    UNSAFE_LOAD_HELP,
    allow_unsafe_checkpoints,
    check_detector_checkpoint,
    close_distributed,
    flush_denormals,
    prepare_distributed,
    prepare_train_config,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model from a config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--data-root', help='one DeepLesion folder (DL_info.csv, Images_png/) for every split'
    )
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument('--amp', action='store_true', help='fp16 automatic mixed precision')
    parser.add_argument(
        '--auto-scale-lr', action='store_true', help='scale the lr by batch size (auto_scale_lr)'
    )
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        help='resume from a checkpoint path, or from the latest in the work dir when no path',
    )
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config fields: key=value'
    )
    parser.add_argument('--unsafe-load-checkpoint', action='store_true', help=UNSAFE_LOAD_HELP)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args()
    if args.unsafe_load_checkpoint:
        allow_unsafe_checkpoints()
    cfg = prepare_train_config(
        args.config,
        work_dir=args.work_dir,
        cfg_options=args.cfg_options,
        amp=args.amp,
        auto_scale_lr=args.auto_scale_lr,
        resume=args.resume,
        launcher=args.launcher,
        data_root=args.data_root,
    )
    check_detector_checkpoint(cfg, args.config)
    prepare_distributed(cfg)
    Runner.from_cfg(cfg).train()
    close_distributed()


if __name__ == '__main__':
    main()
