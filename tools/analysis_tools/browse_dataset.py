"""Write a config's dataset as PNGs: each sample through its pipeline (the HU windows or
neighbouring slices side by side), with its ground-truth boxes drawn (mmdet's browse_dataset).

    python tools/analysis_tools/browse_dataset.py CONFIG --output-dir DIR [--split test]

Boxes are the dataset's 0-based pixel coordinates: ``DL_info.csv``'s 1-based cells minus 1
(``coordinate_base=1``, mmlesion/datasets/dl_info.py), carried through the pipeline's transforms
with the image. Lesions are green, ignore regions yellow. Each file is named after its key
slice (``File_name``).
"""

import argparse

from mmengine.config import DictAction

from mmlesion.utils import load_config, set_data_root
from mmlesion.visualization.dataset_browser import SPLITS, browse_dataset


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument('--output-dir', required=True, help='where the PNGs go')
    parser.add_argument(
        '--split', choices=SPLITS, default='train', help="which dataloader's dataset and pipeline"
    )
    parser.add_argument('--max-images', type=int, help='write at most this many samples')
    parser.add_argument(
        '--data-root', help='one DeepLesion folder (DL_info.csv, Images_png/) for every split'
    )
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config fields: key=value'
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    written = browse_dataset(cfg, args.output_dir, split=args.split, max_images=args.max_images)
    print(f'\nwrote {len(written)} images to {args.output_dir}')


if __name__ == '__main__':
    main()
