"""Detect lesions on clinical CT (DICOM file or series folder, DeepLesion PNG, NIfTI volume).

Writes predictions.json (boxes in pixels, scores, lesion type, box size in mm, the chosen
CLAHE clip limit and grid size) and one PNG per slice (the enhanced slice with its boxes).

    python tools/infer.py series_folder/ --config configs/faster_rcnn_r50_fpn_deeplesion.py \\
        --checkpoint detector.pth --enhancer-checkpoint enhancer.pth --out work_dirs/infer
"""

import argparse

from mmlesion.apis import LesionInferencer
from mmlesion.utils import UNSAFE_LOAD_HELP, allow_unsafe_checkpoints, flush_denormals


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('inputs', nargs='+', help='DICOM/PNG/NIfTI files or series folders')
    parser.add_argument('--config', required=True, help='detector (or enhancer) config')
    parser.add_argument('--checkpoint', required=True, help='detector (or enhancer) checkpoint')
    parser.add_argument(
        '--enhancer-checkpoint', help='trained enhancer: choose (clip, grid) per slice'
    )
    parser.add_argument(
        '--enhancer-config', help='the enhancer config, if its checkpoint carries none'
    )
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--slices', type=int, nargs='+', help='slice indices of a folder or volume (default all)'
    )
    parser.add_argument(
        '--spacing',
        type=float,
        nargs=3,
        metavar=('X_MM', 'Y_MM', 'Z_MM'),
        help='pixel spacing and slice distance for PNG input without --dl-info',
    )
    parser.add_argument('--dl-info', help='DL_info.csv giving the spacing of DeepLesion PNGs')
    parser.add_argument(
        '--series-uid', help='SeriesInstanceUID to read from a DICOM folder holding several'
    )
    parser.add_argument(
        '--rescale',
        type=float,
        nargs=2,
        metavar=('SLOPE', 'INTERCEPT'),
        help='HU = value * SLOPE + INTERCEPT for DICOM files without RescaleSlope/Intercept',
    )
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--device', help="'cpu' or 'cuda' (default: CUDA when available)")
    parser.add_argument('--unsafe-load-checkpoint', action='store_true', help=UNSAFE_LOAD_HELP)
    return parser.parse_args()


def main() -> None:
    flush_denormals()  # before any torch computation: mmlesion/utils/denormals.py
    args = parse_args()
    if args.unsafe_load_checkpoint:
        allow_unsafe_checkpoints()
    inferencer = LesionInferencer(
        args.config,
        args.checkpoint,
        enhancer_checkpoint=args.enhancer_checkpoint,
        enhancer_config=args.enhancer_config,
        device=args.device,
        score_thr=args.score_thr,
    )
    results = inferencer(
        args.inputs,
        slice_indices=args.slices,
        spacing_mm=tuple(args.spacing) if args.spacing else None,
        dl_info=args.dl_info,
        batch_size=args.batch_size,
        out_dir=args.out,
        series_uid=args.series_uid,
        rescale=tuple(args.rescale) if args.rescale else None,
        progress=True,
    )
    found = sum(len(r.detections) for r in results)
    print(f'{len(results)} slice(s), {found} lesion(s) at score >= {args.score_thr}: {args.out}')


if __name__ == '__main__':
    main()
