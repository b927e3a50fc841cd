"""Detect lesions on clinical CT (DICOM file or series folder, DeepLesion PNG, NIfTI volume).

Writes predictions.json (docs/en/predictions.schema.json: boxes in pixels, scores, lesion type,
box size in mm, the chosen CLAHE clip limit and grid size, the operating point, the research-use
notice and warnings on the weights) and one PNG per slice (the enhanced slice with its boxes).
Neither names an input file or folder unless --record-paths is given.

    python tools/infer.py series_folder/ --config configs/faster_rcnn_r50_fpn_deeplesion.py \\
        --checkpoint detector.pth --enhancer-checkpoint enhancer.pth --out work_dirs/infer \\
        --fp-per-image 4
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
    parser.add_argument(
        '--fp-per-image',
        type=float,
        help='operating point: the score threshold that made this many false positives per '
        'image on the validation split (tools/analysis_tools/operating_point.py measures it)',
    )
    parser.add_argument(
        '--score-thr',
        type=float,
        help='explicit score threshold, in place of --fp-per-image (default without either: 0.3, '
        'tied to no operating point)',
    )
    parser.add_argument(
        '--record-paths',
        action='store_true',
        help='name the input paths and slice files in the outputs (default: slice indices only)',
    )
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
        fp_per_image=args.fp_per_image,
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
        record_paths=args.record_paths,
    )
    found = sum(len(r.detections) for r in results)
    threshold = inferencer.score_thr
    print(f'{len(results)} slice(s), {found} lesion(s) at score >= {threshold:.4g}: {args.out}')
    for warning in inferencer.warnings:
        print(f'WARNING: {warning}')


if __name__ == '__main__':
    main()
