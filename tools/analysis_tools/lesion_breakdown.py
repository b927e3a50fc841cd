"""Which lesions a detector finds: sensitivity at one operating point by lesion size and type,
and on the synthetic DeepLesion by acquisition profile, lesion contrast and lesion
signal-to-noise ratio (|HU contrast| * sqrt(area in pixels) / noise sigma, Rose's measure).

For each group it prints the lesions found at ``--fp`` false positives an image, the share that
some detection overlaps by ``--iou`` at any score, the median best overlap, and how the
best-overlapping box compares with the lesion's (area ratio, centre offset in box diagonals).
A low "overlapped" share with a median overlap just under the threshold and an area ratio far
from 1 says the detector sees those lesions but boxes them too loosely.

    python tools/test.py CONFIG CKPT --out preds.pkl
    python tools/analysis_tools/lesion_breakdown.py CONFIG preds.pkl [--fp 4] [--json out.json]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from mmengine.config import DictAction

from mmlesion.datasets.dl_info import COARSE_LESION_TYPES
from mmlesion.datasets.synthetic import SIDECAR_NAME, read_acquisition_sidecar
from mmlesion.evaluation import slice_records
from mmlesion.evaluation.lesion_breakdown import (
    by_slice_attribute,
    group_outcomes,
    lesion_outcomes,
    score_at_fp_rate,
    scored_lesion_values,
    signal_to_noise,
    size_buckets,
)
from mmlesion.evaluation.subset_evaluation import dataset_infos
from mmlesion.utils import atomic_write_json, load_config
from mmlesion.utils.safe_pickle import load_predictions

#: Lesion-minus-host contrast buckets of the synthetic lesions, |HU|.
CONTRAST_EDGES_HU = (20.0, 40.0, 80.0)
#: Signal-to-noise buckets of the synthetic lesions (Rose's threshold of visibility is about 5).
SNR_EDGES = (5.0, 10.0, 20.0, 40.0)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='the config whose test dataset was predicted')
    parser.add_argument('predictions', help='tools/test.py --out file')
    parser.add_argument('--fp', type=float, default=4.0, help='false positives an image')
    parser.add_argument('--iou', type=float, default=0.5, help='overlap that finds a lesion')
    parser.add_argument(
        '--size-edges-mm',
        type=float,
        nargs='+',
        default=[5.0, 10.0, 20.0, 30.0],
        help='long-diameter bucket edges, mm',
    )
    parser.add_argument(
        '--size-edges-px',
        type=float,
        nargs='+',
        default=[6.0, 10.0, 16.0],
        help="bucket edges of the lesion box's long side, pixels of the predicted image",
    )
    parser.add_argument('--json', help='also write the tables here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args()


def bucket_names(label: str, edges: tuple[float, ...]) -> list[str]:
    """``label <e`` for each of the increasing ``edges``, then ``label >=last``, in order."""
    return [f'{label} <{edge:g}' for edge in edges] + [f'{label} >={edges[-1]:g}']


def bucket(value: float, edges: tuple[float, ...], names: list[str]) -> str:
    """The name of the first of ``edges`` above ``value`` (the last name past them all)."""
    return names[int(np.searchsorted(edges, value, side='right'))]


CONTRAST_NAMES = bucket_names('|dHU|', CONTRAST_EDGES_HU)
SNR_NAMES = bucket_names('SNR', SNR_EDGES)


def print_table(title: str, groups: dict[str, dict[str, float]]) -> None:
    print(f'\n{title}')
    print(
        f'{"group":<28}{"lesions":>8}{"found":>8}{"overlap":>9}{"med IoU":>9}'
        f'{"area x":>8}{"offset":>8}'
    )
    for name, g in groups.items():
        print(
            f'{name:<28}{int(g["num_lesions"]):>8}{g["sensitivity"]:>8.2f}{g["overlapped"]:>9.2f}'
            f'{g["median_best_iou"]:>9.2f}{g["median_area_ratio"]:>8.2f}'
            f'{g["median_centre_offset"]:>8.2f}'
        )


def main() -> None:
    args = parse_args()
    predictions = load_predictions(args.predictions)  # refused before any data is read
    infos, _ = dataset_infos(args.config, args.cfg_options)
    records = slice_records(predictions, infos)
    threshold = score_at_fp_rate(records, args.fp, args.iou)
    outcomes = lesion_outcomes(records, threshold, args.iou)
    print(
        f'{len(records)} slices, {len(outcomes)} lesions; operating point {args.fp:g} FP/image '
        f'(score >= {threshold:.3f}), a lesion is found at IoU >= {args.iou:g}'
    )

    size_key, size_names = size_buckets(args.size_edges_mm)
    pixel_key, pixel_names = size_buckets(args.size_edges_px, 'long_side_px', 'px')
    tables = {
        'all': group_outcomes(outcomes, lambda o: 'all', args.iou),
        'long diameter': group_outcomes(outcomes, size_key, args.iou, order=size_names),
        'box long side': group_outcomes(outcomes, pixel_key, args.iou, order=pixel_names),
        'coarse type': group_outcomes(
            outcomes,
            lambda o: COARSE_LESION_TYPES[o.lesion_type - 1] if o.lesion_type > 0 else 'unlabelled',
            args.iou,
        ),
    }
    cfg = load_config(args.config, args.cfg_options)
    sidecar = Path(cfg.test_dataloader.dataset.data_root) / SIDECAR_NAME
    if sidecar.is_file():  # the synthetic DeepLesion: how each slice was acquired
        acquisition = read_acquisition_sidecar(sidecar)
        profiles = {name: r.profile for name, r in acquisition.items()}
        scored = scored_lesion_values(
            records, {name: r.lesion_delta_hu for name, r in acquisition.items()}
        )
        contrasts = {
            name: [bucket(abs(d), CONTRAST_EDGES_HU, CONTRAST_NAMES) for d, _ in v]
            for name, v in scored.items()
        }
        snrs = {
            name: [
                bucket(
                    signal_to_noise(delta, acquisition[name].noise_sigma_hu, box),
                    SNR_EDGES,
                    SNR_NAMES,
                )
                for delta, box in lesions
            ]
            for name, lesions in scored.items()
        }
        tables['acquisition profile'] = group_outcomes(
            outcomes, by_slice_attribute(records, profiles), args.iou
        )
        tables['lesion contrast'] = group_outcomes(
            outcomes, by_slice_attribute(records, contrasts), args.iou
        )
        tables['lesion signal-to-noise (Rose)'] = group_outcomes(
            outcomes, by_slice_attribute(records, snrs), args.iou, order=SNR_NAMES
        )
    for title, groups in tables.items():
        print_table(title, groups)
    if args.json:
        atomic_write_json(
            args.json, {'score_threshold': threshold, 'fp_per_image': args.fp, **tables}, indent=1
        )


if __name__ == '__main__':
    main()
