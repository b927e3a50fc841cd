"""Time parsing a DL_info.csv (default: a synthetic table as large as the release's 32,735 rows).

python projects/enhancement_benchmark/tools/benchmark_dl_info.py [--csv data/DeepLesion/DL_info.csv]
"""

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from mmlesion.datasets.dl_info import LesionRow, read_dl_info, write_dl_info

RELEASE_ROWS = 32_735


def release_sized_table(path: Path) -> None:
    row = LesionRow(
        file_name='000001_01_01_109.png',
        patient_index=1,
        study_index=1,
        series_id=1,
        key_slice_index=109,
        recist_px=(233.5, 95.0, 234.1, 107.0, 231.2, 101.6, 236.3, 101.1),
        bbox_px=(226.2, 90.0, 241.3, 112.0),
        diameters_px=(11.97, 5.10),
        normalized_location=(0.45, 0.28, 0.43),
        coarse_type=3,
        possibly_noisy=False,
        slice_range=(103, 115),
        spacing_mm=(0.488281, 0.488281, 5.0),
        image_size=(512, 512),
        dicom_window_hu=(-175.0, 275.0),
        gender='F',
        age_years=62.0,
        split='test',
    )
    write_dl_info(path, [replace(row, patient_index=i) for i in range(RELEASE_ROWS)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--csv', type=Path, help='a DL_info.csv to parse instead')
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.csv
        if path is None:
            path = Path(tmp) / 'DL_info.csv'
            release_sized_table(path)
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            rows = read_dl_info(path)
            timings.append(time.perf_counter() - start)
    print(f'{path.name}: {len(rows)} rows, best of {args.repeat}: {min(timings):.3f} s')


if __name__ == '__main__':
    main()
