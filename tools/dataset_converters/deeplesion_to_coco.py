"""Write DeepLesion's annotations as COCO JSON, one file per split.

    python tools/dataset_converters/deeplesion_to_coco.py data/DeepLesion/DL_info.csv \
        --out data/DeepLesion/coco [--class-mode agnostic|coarse_type] \
        [--noisy-lesions keep|ignore|drop] [--splits train val test] [--coordinate-base 1]

Writes ``deeplesion_<split>.json`` under ``--out``: the key slices and lesions DeepLesionDataset
reads with the same options, boxes ``[x, y, w, h]`` in 0-based pixels, slice paths relative to
the CSV's folder (see mmlesion/datasets/coco_export.py for every field). On the real release the
train split has no coarse type (all -1): with ``--class-mode coarse_type`` pass
``--splits val test``.
"""

from __future__ import annotations

import argparse

from mmlesion.datasets.coco_export import export_coco


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='DeepLesion DL_info.csv to COCO JSON per split')
    parser.add_argument('dl_info', help='DL_info.csv (slices under Images_png/ beside it)')
    parser.add_argument('--out', required=True, help='output folder (created if missing)')
    parser.add_argument('--class-mode', choices=('agnostic', 'coarse_type'), default='agnostic')
    parser.add_argument(
        '--noisy-lesions',
        choices=('keep', 'ignore', 'drop'),
        default='keep',
        help="Possibly_noisy rows: kept, crowd boxes ('ignore') or left out",
    )
    parser.add_argument('--splits', nargs='+', choices=('train', 'val', 'test'))
    parser.add_argument(
        '--coordinate-base',
        type=int,
        choices=(0, 1),
        default=1,
        help='first pixel index of the CSV coordinates (1: the release)',
    )
    parser.add_argument('--images-dir', default='Images_png/', help="relative to the CSV's folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    written = export_coco(
        args.dl_info,
        args.out,
        splits=args.splits or ('train', 'val', 'test'),
        class_mode=args.class_mode,
        noisy_lesions=args.noisy_lesions,
        coordinate_base=args.coordinate_base,
        images_dir=args.images_dir,
    )
    for path in written:
        print(path)


if __name__ == '__main__':
    main()
