"""Check a downloaded NIH DeepLesion before training on it.

    # the zip parts against the release's MD5 list (reads every zip once: ~221 GB)
    python tools/dataset_converters/check_deeplesion.py --zips DOWNLOAD_DIR --md5-list MD5_FILE
    # the unzipped layout against DL_info.csv (file names only, no image decoded)
    python tools/dataset_converters/check_deeplesion.py --data-root data/DeepLesion

Exits 1 when anything is missing or corrupt, naming it.
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from mmlesion.datasets.release_check import check_layout, check_zips


def _shown(items: list, most: int = 10) -> str:
    listed = ', '.join(str(i) for i in items[:most])
    return listed + (f' ... ({len(items)} in all)' if len(items) > most else '')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--zips', help='folder holding the downloaded Images_png_*.zip parts')
    parser.add_argument('--md5-list', help="the release's MD5 checksum list (with --zips)")
    parser.add_argument('--data-root', help='folder holding DL_info.csv and Images_png/')
    parser.add_argument('--ann-file', default='DL_info.csv')
    args = parser.parse_args(argv)
    if not (args.zips or args.data_root):
        parser.error('give --zips with --md5-list, or --data-root, or both')
    if bool(args.zips) != bool(args.md5_list):
        parser.error('--zips and --md5-list go together')
    passed = True
    if args.zips:
        zips = check_zips(args.zips, args.md5_list, progress=lambda it: tqdm(list(it), 'md5'))
        print(f'zips: {len(zips.ok)} ok, {len(zips.missing)} missing, {len(zips.corrupt)} corrupt')
        if zips.missing:
            print(f'  missing (download again): {_shown(zips.missing)}')
        if zips.corrupt:
            print(f'  corrupt (MD5 differs, download again): {_shown(zips.corrupt)}')
        passed &= zips.passed
    if args.data_root:
        layout = check_layout(
            args.data_root, args.ann_file, progress=lambda it: tqdm(list(it), 'series')
        )
        print(
            f'{args.ann_file}: {layout.num_rows} lesions on {layout.num_key_slices} key slices '
            f'of {layout.num_series} series'
        )
        if layout.missing_series:
            print(f'  series folders missing: {_shown(layout.missing_series)}')
        if layout.missing_key_slices:
            print(f'  key slices missing: {_shown(layout.missing_key_slices)}')
        if layout.incomplete_ranges:
            gaps = [f'{folder}/{name}' for folder, name in layout.incomplete_ranges]
            print(f'  series with slices missing inside Slice_range: {_shown(gaps)}')
        passed &= layout.passed
    print('passed' if passed else 'FAILED')
    return 0 if passed else 1


if __name__ == '__main__':
    sys.exit(main())
