"""Evaluate a checkpoint on the test split: DeepLesion mAP, AP50, FROC sensitivities.

python tools/test.py CONFIG CHECKPOINT [--data-root DIR] [--out preds.pkl] [--show-dir DIR] [--tta]

Only the test split's data need exist. Several processes: bash tools/dist_test.sh.
"""

import argparse
import os

from mmengine.config import DictAction
from mmengine.runner import Runner

from mmlesion.utils import (
    UNSAFE_LOAD_HELP,
    allow_unsafe_checkpoints,
    close_distributed,
    flush_denormals,
    load_checkpoint_strictly,
    prepare_distributed,
    prepare_test_config,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a model from a config and checkpoint')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--data-root', help='one DeepLesion folder (DL_info.csv, Images_png/) for every split'
    )
    parser.add_argument('--work-dir', help='where the evaluation log goes')
    parser.add_argument('--out', help='dump every prediction to this .pkl file')
    parser.add_argument(
        '--show-dir',
        help='save each test slice with its detections and ground truth as a PNG here '
        '(relative: under <work_dir>/<timestamp>/)',
    )
    parser.add_argument(
        '--show', action='store_true', help='show each test slice with its detections'
    )
    parser.add_argument(
        '--wait-time', type=float, default=2.0, help='seconds each shown slice stays (--show)'
    )
    parser.add_argument(
        '--tta',
        action='store_true',
        help="test-time augmentation: the config's tta_model and tta_pipeline, else flipped and "
        "shifted views merged by the detector's test NMS (mmlesion/utils/run_config.py)",
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
    cfg = prepare_test_config(
        args.config,
        args.checkpoint,
        work_dir=args.work_dir,
        cfg_options=args.cfg_options,
        out=args.out,
        launcher=args.launcher,
        data_root=args.data_root,
        tta=args.tta,
    )
    if args.show or args.show_dir:
        hook = dict(
            type='LesionVisualizationHook',
            test_out_dir=args.show_dir,
            show=args.show,
            wait_time=args.wait_time,
        )
        cfg.custom_hooks = [*cfg.get('custom_hooks', []), hook]
    prepare_distributed(cfg)
    # The Runner would load non-strictly: a checkpoint of another model would leave random
    # weights and still report metrics. Load it here, refusing weights that do not fit.
    cfg.load_from = None
    runner = Runner.from_cfg(cfg)
    load_checkpoint_strictly(runner.model, args.checkpoint)
    runner.test()
    close_distributed()


if __name__ == '__main__':
    main()
