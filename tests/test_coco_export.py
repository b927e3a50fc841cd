"""COCO export: pycocotools reads it, and its boxes are DeepLesionDataset's, split by split."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT
from pycocotools.coco import COCO

from mmlesion.datasets import DeepLesionDataset
from mmlesion.datasets.coco_export import deeplesion_to_coco, export_coco

SPLITS = ('train', 'val', 'test')


def dataset(root, split, **options) -> DeepLesionDataset:
    return DeepLesionDataset(
        data_root=str(root),
        ann_file='DL_info.csv',
        data_prefix={'img': 'Images_png/'},
        split=split,
        test_mode=True,
        pipeline=[],
        **options,
    )


@pytest.fixture(scope='module')
def exported(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp('coco')
    subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / 'tools' / 'dataset_converters' / 'deeplesion_to_coco.py'),
            str(data_root / 'DL_info.csv'),
            '--out',
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


@pytest.mark.parametrize('split', SPLITS)
def test_pycocotools_loads_each_split_with_the_datasets_boxes(data_root, exported, split) -> None:
    coco = COCO(str(exported / f'deeplesion_{split}.json'))
    expected = dataset(data_root, split)
    assert len(coco.getImgIds()) == len(expected) > 0
    assert coco.loadCats(coco.getCatIds()) == [
        {'id': 1, 'name': 'lesion', 'supercategory': 'lesion'}
    ]
    for index, image_id in enumerate(sorted(coco.getImgIds())):
        item = expected.get_data_info(index)
        image = coco.loadImgs(image_id)[0]
        assert image['dl_file_name'] == item['img_id']
        assert (data_root / image['file_name']).is_file()
        assert (image['height'], image['width']) == tuple(item['image_size'])
        assert image['spacing_mm'] == list(item['spacing_mm'])
        assert image['dicom_window_hu'] == list(item['dicom_window'])
        assert image['hu_offset'] == 32768
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
        boxes = [[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)]
        np.testing.assert_allclose(boxes, [inst['bbox'] for inst in item['instances']], atol=1e-9)
        assert [a['recist_px'] for a in anns] == [inst['recist_px'] for inst in item['instances']]
        assert all(a['iscrowd'] == 0 and a['category_id'] == 1 for a in anns)


def test_coarse_types_ignored_rows_and_ids(data_root) -> None:
    coco = deeplesion_to_coco(
        data_root / 'DL_info.csv', 'val', class_mode='coarse_type', noisy_lesions='ignore'
    )
    assert [c['id'] for c in coco['categories']] == list(range(1, 9))
    assert coco['categories'][3]['name'] == 'liver'
    for ann in coco['annotations']:
        assert ann['category_id'] == ann['lesion_type']  # ids are Coarse_lesion_type
    items = dataset(data_root, 'val', class_mode='coarse_type', noisy_lesions='ignore')
    flags = [inst['ignore_flag'] for i in range(len(items)) for inst in items[i]['instances']]
    assert [ann['iscrowd'] for ann in coco['annotations']] == flags
    assert [a['id'] for a in coco['annotations']] == list(range(1, len(flags) + 1))


def test_export_writes_one_file_per_split(data_root, tmp_path) -> None:
    written = export_coco(data_root / 'DL_info.csv', tmp_path / 'out', splits=('test',))
    assert written == [tmp_path / 'out' / 'deeplesion_test.json']
    info = json.loads(written[0].read_text())['info']
    assert '0-based' in info['bbox_convention'] and info['train_val_test_code'] == 3


def test_a_full_disk_keeps_the_previous_export(data_root, tmp_path, full_disk) -> None:
    (path,) = export_coco(data_root / 'DL_info.csv', tmp_path, splits=('test',))
    first = path.read_text()
    full_disk('deeplesion_test.json')
    with pytest.raises(OSError, match='No space left'):
        export_coco(data_root / 'DL_info.csv', tmp_path, splits=('test',), class_mode='coarse_type')
    assert path.read_text() == first and json.loads(first)['categories'][0]['name'] == 'lesion'
    assert [p.name for p in tmp_path.iterdir()] == ['deeplesion_test.json']
