"""Put the demo enhancer (trained against the demo Faster R-CNN) in front of a demo RetinaNet.

Trains the RetinaNet on the same synthetic data (unless --detector-checkpoint is given), then
compares it alone, behind fixed GLCAE and behind the transferred enhancer on the test split.

    python projects/enhancement_benchmark/tools/detector_transfer.py \\
        --enhancer-checkpoint work_dirs/demo/enhancer/best_deeplesion_mAP_epoch_N.pth
"""

import sys
from pathlib import Path

# The repository root on the path, so that `projects.enhancement_benchmark` imports from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import argparse

from mmlesion.utils import flush_denormals
from projects.enhancement_benchmark.benchmark.detector_transfer import (
    TransferSettings,
    run_detector_transfer,
)


def parse_args() -> argparse.Namespace:
    defaults = TransferSettings()
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--enhancer-checkpoint', required=True)
    parser.add_argument('--detector-checkpoint', help='a trained RetinaNet (skips training)')
    parser.add_argument('--work-dir', default=defaults.work_dir)
    parser.add_argument('--data-root', default=defaults.data_root)
    parser.add_argument('--seed', type=int, default=defaults.seed)
    return parser.parse_args()


def main() -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args()
    settings = TransferSettings(
        work_dir=args.work_dir,
        data_root=args.data_root,
        enhancer_checkpoint=args.enhancer_checkpoint,
        seed=args.seed,
    )
    run_detector_transfer(settings, args.detector_checkpoint)


if __name__ == '__main__':
    main()
