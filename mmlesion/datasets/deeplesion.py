"""DeepLesion as an mmdet dataset: one data item per key slice, all its lesions grouped."""

from __future__ import annotations

import logging
import math
import os.path as osp
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from .dl_info import (
    COARSE_LESION_TYPES,
    LIVER_TYPE,
    RELEASE_COORDINATE_BASE,
    UNLABELLED_TYPE,
    LesionRow,
    drop_duplicate_rows,
    fit_boxes_to_images,
    read_dl_info,
)
from .transforms.load_deeplesion_slices import png_size

CLASS_MODES = ('agnostic', 'coarse_type')
NOISY_LESION_POLICIES = ('keep', 'ignore', 'drop')


@DATASETS.register_module()
class DeepLesionDataset(BaseDetDataset):
    """The NIH DeepLesion release (``DL_info.csv`` + ``Images_png/``) as a detection dataset.

    Example::

        DeepLesionDataset(data_root='data/DeepLesion', ann_file='DL_info.csv',
                          data_prefix=dict(img='Images_png/'), split='train',
                          class_mode='agnostic', pipeline=[...])

    Args:
        split: ``'train'``, ``'val'``, ``'test'`` (the ``Train_Val_Test`` column) or ``None``
            for all rows.
        class_mode: ``'agnostic'``: one class ``lesion`` (universal lesion detection, every row
            kept). ``'coarse_type'``: the 8 coarse types as labels 0..7; unlabelled rows
            (type -1) are left out, and a log line says how many.
        noisy_lesions: rows flagged ``Possibly_noisy``: ``'keep'`` them as ordinary lesions,
            ``'ignore'`` them (``ignore_flag=1``: no training target, not counted in evaluation)
            or ``'drop'`` them (a key slice left without lesions is dropped too).
        patient_ids: keep only these ``Patient_index`` values.
        lesion_types: keep only the key slices holding a lesion of these coarse types (1..8,
            e.g. ``(4,)`` for the paper's liver rows); the other lesions on those slices become
            ignored (``ignore_flag=1``), as DeepLesionMetric's liver subset treats them.
        patient_holdout: split the selected rows by patient, e.g.
            ``dict(fraction=0.15, seed=0, part='holdout')`` keeps a seeded random 15 % of the
            patients, ``part='rest'`` keeps the other 85 % (the paper validates on held-out
            patients). The same ``fraction`` and ``seed`` give complementary parts.
        coordinate_base: index of the first pixel in ``Measurement_coordinates`` and
            ``Bounding_boxes``: 1 (the release, MATLAB style; subtracted on reading, as its
            authors' 3DCE and MULAN loaders do) or 0 (the cells taken as they stand, what
            mmlesion did before). Boxes and RECIST points in the data items are 0-based.
        **kwargs: :class:`mmdet.datasets.BaseDetDataset` arguments (``data_root``, ``ann_file``,
            ``data_prefix=dict(img=...)``, ``pipeline``, ``test_mode``, ...).

    Boxes reaching outside ``Image_size`` are clipped to it and boxes of zero area dropped
    (:func:`~.dl_info.fit_boxes_to_images`), with a warning that counts both; a key slice left
    without a lesion is dropped with them.

    Each data item (before the pipeline) holds, with units in the names:
    ``img_path``, ``img_id`` (the ``File_name``), ``height``/``width`` (pixels),
    ``instances`` (``bbox`` x1,y1,x2,y2 pixels, ``bbox_label``, ``ignore_flag``, ``lesion_type``
    1..8 or -1, ``recist_px`` (8 numbers), ``diameters_px``, ``long_diameter_mm``,
    ``normalized_location``), ``lesion_types`` and ``lesion_diameters_mm`` (per non-ignored
    lesion, in instance order: they travel to the metric as meta keys), ``spacing_mm`` (x, y, z),
    ``slice_interval_mm``, ``key_slice_index``, ``slice_range``, ``dicom_window`` (HU),
    ``image_size`` (height, width), ``patient_index``, ``study_index``, ``series_id``,
    ``possibly_noisy``, ``gender``, ``age_years``, ``split``.
    """

    METAINFO = {'classes': ('lesion',), 'palette': [(220, 20, 60)]}

    def __init__(
        self,
        *args,
        split: str | None = 'train',
        class_mode: str = 'agnostic',
        noisy_lesions: str = 'keep',
        patient_ids: Sequence[int] | None = None,
        lesion_types: Sequence[int] | None = None,
        patient_holdout: dict | None = None,
        coordinate_base: int = RELEASE_COORDINATE_BASE,
        metainfo: dict | None = None,
        **kwargs,
    ) -> None:
        if split not in ('train', 'val', 'test', None):
            raise ValueError(f"split must be 'train', 'val', 'test' or None, got {split!r}")
        if class_mode not in CLASS_MODES:
            raise ValueError(f'class_mode must be one of {CLASS_MODES}, got {class_mode!r}')
        if noisy_lesions not in NOISY_LESION_POLICIES:
            raise ValueError(
                f'noisy_lesions must be one of {NOISY_LESION_POLICIES}, got {noisy_lesions!r}'
            )
        if patient_holdout is not None:
            _check_holdout(patient_holdout)
        self.split = split
        self.class_mode = class_mode
        self.noisy_lesions = noisy_lesions
        self.patient_ids = None if patient_ids is None else {int(p) for p in patient_ids}
        self.lesion_types = None if lesion_types is None else {int(t) for t in lesion_types}
        self.patient_holdout = patient_holdout
        self.coordinate_base = coordinate_base
        if metainfo is None and class_mode == 'coarse_type':
            metainfo = {'classes': COARSE_LESION_TYPES, 'palette': _type_palette()}
        super().__init__(*args, metainfo=metainfo, **kwargs)

    def load_data_list(self) -> list[dict]:
        rows, repeats = drop_duplicate_rows(read_dl_info(self.ann_file, self.coordinate_base))
        if repeats:
            lines = ', '.join(str(r.line) for r in repeats[:10]) + (' ...' * (len(repeats) > 10))
            print_log(
                f'{self.ann_file}: dropped {len(repeats)} row(s) identical to an earlier row '
                f'(lines {lines}); each would be a second ground-truth box on one lesion',
                logger='current',
                level=logging.WARNING,
            )
        self._check_image_sizes(rows)
        all_rows = rows
        rows, repairs = fit_boxes_to_images(rows)
        if repairs.clipped or repairs.dropped:
            print_log(repairs.describe(self.ann_file), logger='current', level=logging.WARNING)
        rows = self._select_rows(rows)
        by_slice: dict[str, list[LesionRow]] = defaultdict(list)
        for row in rows:
            by_slice[row.file_name].append(row)
        if self.lesion_types is not None:
            by_slice = {
                name: lesions
                for name, lesions in by_slice.items()
                if any(r.coarse_type in self.lesion_types for r in lesions)
            }
        data_list = [self._data_item(lesions) for lesions in by_slice.values()]
        if not data_list:
            splits = {s: sum(r.split == s for r in all_rows) for s in ('train', 'val', 'test')}
            raise ValueError(
                f'DeepLesionDataset: no key slice left in {self.ann_file} after selecting '
                f'split={self.split!r}, class_mode={self.class_mode!r}, '
                f'noisy_lesions={self.noisy_lesions!r}, patient_ids={self.patient_ids}, '
                f'lesion_types={self.lesion_types}, '
                f'patient_holdout={self.patient_holdout}. Rows per split in the file: {splits}. '
                '(On the real release every train row is unlabelled (-1), so '
                "class_mode='coarse_type' needs the labelled val/test rows; a synthetic set of "
                'very few patients has no val/test rows: generate more patients.)'
            )
        return data_list

    def _check_image_sizes(self, rows: list[LesionRow]) -> None:
        """Refuse a row whose box reaches past ``Image_size`` when its PNG is of another size:
        the box is right and ``Image_size`` wrong, so clipping would cut a real lesion. Only
        those rows' PNG headers are read (24 bytes each)."""
        for row in rows:
            height, width = row.image_size
            if row.bbox_px[2] <= width and row.bbox_px[3] <= height:
                continue
            path = osp.join(self.data_prefix.get('img', ''), row.series_folder, row.slice_file)
            size = png_size(path)
            if size is not None and size != row.image_size:
                raise ValueError(
                    f"{self.ann_file}: line {row.line}, column 'Image_size': says "
                    f'{height}x{width} but {path} is {size[0]}x{size[1]} pixels (the box '
                    f'{row.bbox_px} lies outside Image_size); correct Image_size'
                )

    def _select_rows(self, rows: list[LesionRow]) -> list[LesionRow]:
        if self.split is not None:
            rows = [r for r in rows if r.split == self.split]
        if self.patient_ids is not None:
            rows = [r for r in rows if r.patient_index in self.patient_ids]
        if self.patient_holdout is not None:
            rows = _apply_holdout(rows, **self.patient_holdout)
        if self.class_mode == 'coarse_type':
            unlabelled = sum(r.coarse_type == UNLABELLED_TYPE for r in rows)
            if unlabelled:
                print_log(
                    f'DeepLesionDataset(split={self.split!r}): left out {unlabelled} of '
                    f'{len(rows)} lesions with Coarse_lesion_type -1 (unlabelled) in '
                    "class_mode='coarse_type'",
                    logger='current',
                )
            rows = [r for r in rows if r.coarse_type != UNLABELLED_TYPE]
        if self.noisy_lesions == 'drop':
            rows = [r for r in rows if not r.possibly_noisy]
        return rows

    def _label(self, row: LesionRow) -> int:
        return 0 if self.class_mode == 'agnostic' else row.coarse_type - 1

    def _data_item(self, lesions: list[LesionRow]) -> dict:
        key = lesions[0]
        instances = []
        for row in lesions:
            ignore = (self.noisy_lesions == 'ignore' and row.possibly_noisy) or (
                self.lesion_types is not None and row.coarse_type not in self.lesion_types
            )
            instances.append(
                {
                    'bbox': list(row.bbox_px),
                    'bbox_label': self._label(row),
                    'ignore_flag': int(ignore),
                    'lesion_type': row.coarse_type,
                    'recist_px': list(row.recist_px),
                    'diameters_px': list(row.diameters_px),
                    'long_diameter_mm': row.diameters_px[0] * row.spacing_mm[0],
                    'normalized_location': list(row.normalized_location),
                }
            )
        kept = [inst for inst in instances if not inst['ignore_flag']]
        height, width = key.image_size
        return {
            'img_path': osp.join(
                self.data_prefix.get('img', ''), key.series_folder, key.slice_file
            ),
            'img_id': key.file_name,
            'height': height,
            'width': width,
            'instances': instances,
            'lesion_types': [inst['lesion_type'] for inst in kept],
            'lesion_diameters_mm': [inst['long_diameter_mm'] for inst in kept],
            'spacing_mm': key.spacing_mm,
            'slice_interval_mm': key.slice_interval_mm,
            'key_slice_index': key.key_slice_index,
            'slice_range': key.slice_range,
            'dicom_window': key.dicom_window_hu,
            'image_size': key.image_size,
            'patient_index': key.patient_index,
            'study_index': key.study_index,
            'series_id': key.series_id,
            'possibly_noisy': any(r.possibly_noisy for r in lesions),
            'gender': key.gender,
            'age_years': key.age_years,
            'split': key.split,
        }

    def filter_data(self) -> list[dict]:
        """Apply ``filter_cfg=dict(min_size=...)`` (pixels): lesions whose box is smaller on
        either side become ignored. Key slices always hold at least one lesion here, so mmdet's
        ``filter_empty_gt`` has nothing to remove."""
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        min_size = self.filter_cfg.get('min_size', 0)
        for item in self.data_list:
            for inst in item['instances']:
                x1, y1, x2, y2 = inst['bbox']
                if min(x2 - x1, y2 - y1) < min_size:
                    inst['ignore_flag'] = 1
        return self.data_list

    def liver_indices(self) -> list[int]:
        """Indices of the items holding at least one liver lesion (the paper's liver subset)."""
        return [
            i
            for i in range(len(self))
            if any(inst['lesion_type'] == LIVER_TYPE for inst in self.get_data_info(i)['instances'])
        ]


def _check_holdout(holdout: dict) -> None:
    unknown = set(holdout) - {'fraction', 'seed', 'part'}
    if unknown:
        raise ValueError(f'patient_holdout: unknown keys {sorted(unknown)}')
    fraction = holdout.get('fraction')
    if fraction is None or not 0 < fraction < 1:
        raise ValueError(f'patient_holdout.fraction must be in (0, 1), got {fraction!r}')
    if holdout.get('part') not in ('holdout', 'rest'):
        raise ValueError(
            f"patient_holdout.part must be 'holdout' or 'rest', got {holdout.get('part')!r}"
        )


def _apply_holdout(
    rows: list[LesionRow], fraction: float, part: str, seed: int = 0
) -> list[LesionRow]:
    patients = sorted({r.patient_index for r in rows})
    order = np.random.default_rng(seed).permutation(len(patients))
    n_holdout = min(len(patients) - 1, max(1, math.ceil(fraction * len(patients))))
    held_out = {patients[i] for i in order[:n_holdout]}
    keep_held_out = part == 'holdout'
    return [r for r in rows if (r.patient_index in held_out) == keep_held_out]


def _type_palette() -> list[tuple[int, int, int]]:
    return [
        (230, 25, 75),
        (60, 180, 75),
        (255, 225, 25),
        (0, 130, 200),
        (245, 130, 48),
        (145, 30, 180),
        (70, 240, 240),
        (240, 50, 230),
    ]
