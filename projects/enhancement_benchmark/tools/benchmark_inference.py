"""Inference time of a frozen detector with and without the learned enhancer in front of it.

Times ``model.test_step`` on pre-loaded test batches (data loading excluded) of the detector
alone and of the whole enhancer pipeline, and the enhancement (regressor + GLCAE) on its own,
and prints ms/img, img/s and the enhancement's overhead in % of the detector-alone time.
Without a checkpoint the weights are random: the time of a forward pass hardly depends on them.

    python projects/enhancement_benchmark/tools/benchmark_inference.py \\
        configs/demo/enhancer_r18-w16_6e_synth.py \\
        --checkpoint work_dirs/demo/enhancer/best_deeplesion_mAP_epoch_N.pth
    python projects/enhancement_benchmark/tools/benchmark_inference.py configs/enhancer_r18.py \\
        --cfg-options test_dataloader.dataset.data_root=data/synthetic_deeplesion_512/ \\
        model.detector.backbone.init_cfg=None --batch-size 2 --num-batches 2
"""

import sys
from pathlib import Path

# The repository root on the path, so that `projects.enhancement_benchmark` imports from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import argparse

from mmengine.config import DictAction

from mmlesion.utils import flush_denormals
from projects.enhancement_benchmark.benchmark.inference_timing import time_inference
from projects.enhancement_benchmark.benchmark.machine_description import machine_description


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='a FrozenDetectorEnhancer config (learned mode)')
    parser.add_argument('--checkpoint', help='trained enhancer checkpoint (default: random)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-batches', type=int, default=4)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--device', help="'cpu' or 'cuda' (default: CUDA when available)")
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config fields: key=value'
    )
    return parser.parse_args()


def main() -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args()
    timing = time_inference(
        args.config,
        args.checkpoint,
        args.cfg_options,
        num_batches=args.num_batches,
        batch_size=args.batch_size,
        repeats=args.repeats,
        device=args.device,
    ).as_dict()
    print(f'{args.config} on {timing["device"]} ({machine_description()}), batch {args.batch_size}')
    print(
        f'detector alone {timing["detector_ms"]:.1f} ms/img ({timing["detector_img_per_s"]:.2f} '
        f'img/s); with the enhancer {timing["enhanced_ms"]:.1f} ms/img '
        f'({timing["enhanced_img_per_s"]:.2f} img/s); enhancement {timing["enhancement_ms"]:.1f} '
        f'ms/img = {timing["overhead_pct"]:.1f} % of the detector-alone time'
    )


if __name__ == '__main__':
    main()
