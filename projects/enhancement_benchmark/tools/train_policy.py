"""Train a setting policy (a per-image choice among K enhancement settings, identity included)
from the frozen detector's per-slice losses, and write it as an enhancer checkpoint.

Computes the train and val loss tables once (WORK_DIR/loss_table_{train,val}.npz: K detector
passes over each split), then trains without the detector:

    python projects/enhancement_benchmark/tools/train_policy.py \\
        projects/enhancement_benchmark/configs/policy/enhancer_r18-w16_synth_policy.py \\
        --detector-checkpoint work_dirs/demo/detector/best_deeplesion_mAP_epoch_N.pth \\
        --data-root data/synthetic_deeplesion --work-dir work_dirs/policy_seed0

Evaluate WORK_DIR/policy.pth with the same config: tools/test.py CONFIG WORK_DIR/policy.pth.
"""

import sys
from pathlib import Path

# The repository root on the path, so that `projects.enhancement_benchmark` imports from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import argparse

from mmengine.config import DictAction

from mmlesion.utils import flush_denormals
from projects.enhancement_benchmark.benchmark.policy_training import train_policy_from_config
from projects.enhancement_benchmark.benchmark.setting_loss_table import LOSS_KINDS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='a policy config (PolicyEnhancementPreprocessor)')
    parser.add_argument('--detector-checkpoint', required=True, help='the trained detector')
    parser.add_argument('--work-dir', required=True, help='where the tables and policy go')
    parser.add_argument('--data-root', help="the data set (default: the config's)")
    parser.add_argument('--seed', type=int, help='overrides policy_training.seed')
    parser.add_argument('--loss', choices=LOSS_KINDS, help='overrides policy_training.loss')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args()


def main() -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args()
    options = dict(args.cfg_options)
    if args.data_root is not None:
        root = str(Path(args.data_root)) + '/'
        options.update(
            {f'{s}_dataloader.dataset.data_root': root for s in ('train', 'val', 'test')}
        )
    summary = train_policy_from_config(
        args.config,
        args.detector_checkpoint,
        args.work_dir,
        cfg_options=options,
        seed=args.seed,
        loss=args.loss,
    )
    best = summary['history'][summary['best_epoch'] - 1]
    fixed = summary['best_fixed']['chosen_loss']
    print(
        f'best epoch {summary["best_epoch"]}: val loss of the chosen settings '
        f'{best["chosen_loss"]:.4f} (best single setting {fixed:.4f}, '
        f'per-slice best {summary["val_best_per_slice_loss"]:.4f}); '
        f'{Path(args.work_dir) / "policy.pth"}'
    )


if __name__ == '__main__':
    main()
