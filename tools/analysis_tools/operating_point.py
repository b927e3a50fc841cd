"""Measure score thresholds by false positives per image on the validation split.

    python tools/analysis_tools/operating_point.py CONFIG CHECKPOINT --fp-per-image 1 2 4 \\
        [--enhancer-checkpoint ENHANCER.pth] [--data-root DIR]

runs the model as tools/infer.py builds it on CONFIG's validation split and writes, beside the
checkpoint that decides the detections last (ENHANCER.pth if given, else CHECKPOINT),
``<checkpoint>.operating_points.json``: per target, the lowest score threshold at which the
detections make at most that many false positives per image, with the rate and sensitivity
measured there. ``tools/infer.py --fp-per-image N`` then reads it.
"""

from __future__ import annotations

import argparse

from mmengine.config import DictAction

from mmlesion.apis import LesionInferencer
from mmlesion.apis.operating_points import (
    measure_operating_points,
    operating_points_path,
    write_operating_points,
)
from mmlesion.utils import flush_denormals, load_config, set_data_root


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='detector (or enhancer) config, as given to infer.py')
    parser.add_argument('checkpoint', help='detector (or enhancer) checkpoint')
    parser.add_argument(
        '--fp-per-image',
        type=float,
        nargs='+',
        required=True,
        help='target false positives per image, e.g. 1 2 4',
    )
    parser.add_argument('--enhancer-checkpoint', help='trained enhancer, as given to infer.py')
    parser.add_argument('--enhancer-config', help='the enhancer config, if its checkpoint has none')
    parser.add_argument(
        '--split', choices=('val', 'test'), default='val', help='the split to measure on'
    )
    parser.add_argument(
        '--data-root', help='one DeepLesion folder (DL_info.csv, Images_png/) for every split'
    )
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config fields: key=value'
    )
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--device', help="'cpu' or 'cuda' (default: CUDA when available)")
    return parser.parse_args()


def main() -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args()
    config = args.config
    if args.data_root is not None or args.cfg_options:
        cfg = load_config(args.config, args.cfg_options)
        if args.data_root is not None:
            set_data_root(cfg, args.data_root)
        config = cfg
    inferencer = LesionInferencer(
        config,
        args.checkpoint,
        enhancer_checkpoint=args.enhancer_checkpoint,
        enhancer_config=args.enhancer_config,
        device=args.device,
    )
    document = measure_operating_points(
        inferencer, args.fp_per_image, split=args.split, batch_size=args.batch_size
    )
    path = operating_points_path(args.checkpoint, args.enhancer_checkpoint)
    write_operating_points(document, inferencer.checkpoints, path)
    print(
        f'{document["num_images"]} {args.split} images, {document["num_lesions"]} lesions, '
        f'protocol {document["protocol"]!r}: {path}'
    )
    for point in document['operating_points']:
        print(
            f'{point["fp_per_image"]:g} FP/image: score >= {point["score_thr"]:.4g} '
            f'({point["measured_fp_per_image"]:.3g} FP/image, sensitivity '
            f'{point["sensitivity"]:.3f})'
        )


if __name__ == '__main__':
    main()
