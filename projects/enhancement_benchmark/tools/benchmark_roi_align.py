"""mmcv's RoIAlign against GatherRoIAlign: time a call, forward and forward + backward, on the
demo detector's shapes (training: 8 maps of 64 x 24 x 24, 64 RoIs a map; test: 8 maps of
64 x 64 x 64, 300 RoIs a map; 7 x 7 bins), and check that both give the same numbers.

    python projects/enhancement_benchmark/tools/benchmark_roi_align.py \\
        [--sampling-ratio 2] [--device cpu]
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root on the path, so that `projects.enhancement_benchmark` imports from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import argparse

from mmcv.ops import RoIAlign

from mmlesion.models import GatherRoIAlign
from mmlesion.utils import flush_denormals
from projects.enhancement_benchmark.benchmark.machine_description import machine_description
from projects.enhancement_benchmark.benchmark.roi_align_timing import time_roi_layers

#: name -> (N, C, H, W) feature maps, RoIs a map, stride (pixels a feature pixel).
CASES = {
    'demo training step': ((8, 64, 24, 24), 64, 4),
    'demo test batch': ((8, 64, 64, 64), 300, 4),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sampling-ratio', type=int, nargs='+', default=[2, 0])
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def main() -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args()
    print(f'{machine_description()}; device {args.device}')
    print(f'{"case":<20}{"ratio":>6}{"layer":>16}{"fwd ms":>9}{"fwd+bwd ms":>12}{"max diff":>10}')
    for case, (shape, rois, stride) in CASES.items():
        for ratio in args.sampling_ratio:
            kwargs = dict(output_size=7, spatial_scale=1 / stride, sampling_ratio=ratio)
            layers = {
                'mmcv RoIAlign': RoIAlign(**kwargs),
                'GatherRoIAlign': GatherRoIAlign(**kwargs),
            }
            timings = time_roi_layers(layers, shape, rois, stride, args.repeats, args.device)
            mmcv, gather = timings['mmcv RoIAlign'], timings['GatherRoIAlign']
            for name, t in timings.items():
                print(
                    f'{case:<20}{ratio:>6}{name:>16}{t["forward_ms"]:>9.1f}'
                    f'{t["forward_backward_ms"]:>12.1f}{t["max_abs_diff"]:>10.1e}'
                )
            speed_up = mmcv['forward_backward_ms'] / gather['forward_backward_ms']
            print(f'{"":<26}forward + backward {speed_up:.1f}x faster')


if __name__ == '__main__':
    main()
