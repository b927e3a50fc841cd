"""DeepLesion annotations as COCO JSON, one file per split, for toolboxes that read COCO.

The key slices and lesions are exactly those :class:`~.deeplesion.DeepLesionDataset` yields with
the same options (split, class mode, noisy rows, coordinate base, clipped boxes), so that a model
trained on either reads the same ground truth.

A COCO ``bbox`` is ``[x, y, width, height]`` in 0-based continuous pixel coordinates of the
original slice: the release's 1-based ``Bounding_boxes`` minus 1 (see :mod:`.dl_info`), ``width =
x2 - x1``. Besides COCO's fields, each image carries what is needed to read and window the slice
(``slice_path``, ``spacing_mm``, ``slice_interval_mm``, ``hu_offset``, ``dicom_window_hu``, ...)
and each annotation its RECIST measurement (``recist_px``, ``diameters_px``, ``long_diameter_mm``)
and coarse ``lesion_type``. Ignored lesions (``noisy_lesions='ignore'``) are COCO crowd boxes
(``iscrowd=1``), which COCOeval neither rewards nor penalises.
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Sequence
from pathlib import Path

from mmlesion.utils.atomic_write import atomic_write_json

from .deeplesion import DeepLesionDataset
from .dl_info import HU_OFFSET, RELEASE_COORDINATE_BASE, SPLIT_CODES


def deeplesion_to_coco(
    dl_info: str | Path,
    split: str,
    class_mode: str = 'agnostic',
    noisy_lesions: str = 'keep',
    coordinate_base: int = RELEASE_COORDINATE_BASE,
    images_dir: str = 'Images_png/',
) -> dict:
    """One split of ``DL_info.csv`` as a COCO detection dict.

    Args:
        dl_info: the release's ``DL_info.csv``; slice paths are relative to its folder.
        split: ``'train'``, ``'val'`` or ``'test'``.
        class_mode: ``'agnostic'`` (one category, ``lesion``, id 1) or ``'coarse_type'`` (the
            8 coarse types, ids 1..8 = ``Coarse_lesion_type``; unlabelled rows left out, which
            on the release is the whole train split).
        noisy_lesions: ``'keep'``, ``'ignore'`` (crowd boxes) or ``'drop'`` ``Possibly_noisy``
            rows, as :class:`~.deeplesion.DeepLesionDataset`.
        coordinate_base: first pixel index of the file's coordinates (1: the release).
        images_dir: the slices' folder, relative to ``dl_info``'s folder.

    Returns:
        ``{'info', 'images', 'annotations', 'categories'}``; image and annotation ids count from
        1 in ``DL_info.csv`` order.
    """
    dl_info = Path(dl_info)
    dataset = DeepLesionDataset(
        data_root=str(dl_info.parent),
        ann_file=dl_info.name,
        data_prefix={'img': images_dir},
        split=split,
        class_mode=class_mode,
        noisy_lesions=noisy_lesions,
        coordinate_base=coordinate_base,
        test_mode=True,
        pipeline=[],
    )
    classes = dataset.metainfo['classes']
    if class_mode == 'agnostic':
        categories = [{'id': 1, 'name': classes[0], 'supercategory': 'lesion'}]
    else:
        categories = [
            {'id': label + 1, 'name': name, 'supercategory': 'lesion'}
            for label, name in enumerate(classes)
        ]
    images, annotations = [], []
    for index in range(len(dataset)):
        item = dataset.get_data_info(index)
        image_id = index + 1
        images.append(_image_entry(item, image_id, str(dl_info.parent)))
        for inst in item['instances']:
            annotations.append(_annotation_entry(inst, image_id, len(annotations) + 1))
    info = {
        'description': f'NIH DeepLesion, {split} split, from {dl_info.name}',
        'class_mode': class_mode,
        'noisy_lesions': noisy_lesions,
        'bbox_convention': (
            '[x, y, width, height], 0-based continuous pixels of the original slice '
            f'(DL_info.csv cells minus {coordinate_base}); width = x2 - x1'
        ),
        'hu': f'HU = PNG value - {HU_OFFSET}',
        'train_val_test_code': {name: code for code, name in SPLIT_CODES.items()}[split],
    }
    return {'info': info, 'images': images, 'annotations': annotations, 'categories': categories}


def export_coco(
    dl_info: str | Path,
    out_dir: str | Path,
    splits: Sequence[str] = ('train', 'val', 'test'),
    **options,
) -> list[Path]:
    """Write ``<out_dir>/deeplesion_<split>.json`` for each split.

    Args:
        dl_info: the release's ``DL_info.csv``.
        out_dir: created if missing.
        splits: which splits to write.
        **options: :func:`deeplesion_to_coco` options (``class_mode``, ``noisy_lesions``,
            ``coordinate_base``, ``images_dir``).

    Returns:
        The written files, in ``splits`` order.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for split in splits:
        path = out / f'deeplesion_{split}.json'
        atomic_write_json(path, deeplesion_to_coco(dl_info, split, **options))
        written.append(path)
    return written


def _image_entry(item: dict, image_id: int, root: str) -> dict:
    height, width = item['image_size']
    slice_path = osp.relpath(item['img_path'], root)
    return {
        'id': image_id,
        'file_name': slice_path,
        'width': width,
        'height': height,
        'slice_path': slice_path,
        'dl_file_name': item['img_id'],
        'spacing_mm': list(item['spacing_mm']),
        'slice_interval_mm': item['slice_interval_mm'],
        'key_slice_index': item['key_slice_index'],
        'slice_range': list(item['slice_range']),
        'hu_offset': HU_OFFSET,
        'dicom_window_hu': list(item['dicom_window']),
        'patient_index': item['patient_index'],
        'study_index': item['study_index'],
        'series_id': item['series_id'],
        'possibly_noisy': item['possibly_noisy'],
        'gender': item['gender'],
        'age_years': item['age_years'],
        'split': item['split'],
    }


def _annotation_entry(inst: dict, image_id: int, annotation_id: int) -> dict:
    x1, y1, x2, y2 = inst['bbox']
    width, height = x2 - x1, y2 - y1
    return {
        'id': annotation_id,
        'image_id': image_id,
        'category_id': inst['bbox_label'] + 1,
        'bbox': [x1, y1, width, height],
        'area': width * height,
        'iscrowd': int(inst['ignore_flag']),
        'lesion_type': inst['lesion_type'],
        'recist_px': list(inst['recist_px']),
        'diameters_px': list(inst['diameters_px']),
        'long_diameter_mm': inst['long_diameter_mm'],
        'normalized_location': list(inst['normalized_location']),
    }
