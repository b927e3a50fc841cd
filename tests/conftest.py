"""Shared fixtures: a hand-made DeepLesion tree with the real release's quirks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

# conftest is imported before pytest_configure installs the warning filters: mmlesion (which
# imports torch and mmengine) is imported inside the fixtures.
HU_OFFSET = 32768


def pytest_configure(config: pytest.Config) -> None:
    # mmengine's import of torch.jit.script/interface warns on every run: not ours to fix, and
    # it drowns the report.
    config.addinivalue_line(
        'filterwarnings', r'ignore:`torch\.jit\..*deprecated:DeprecationWarning'
    )


def base_row():
    from mmlesion.datasets.dl_info import LesionRow

    return LesionRow(
        file_name='000001_01_01_010.png',
        patient_index=1,
        study_index=1,
        series_id=1,
        key_slice_index=10,
        recist_px=(20.0, 30.0, 40.0, 30.0, 30.0, 25.0, 30.0, 35.0),
        bbox_px=(15.0, 20.0, 45.0, 40.0),
        diameters_px=(20.0, 10.0),
        normalized_location=(0.4, 0.5, 0.6),
        coarse_type=4,
        possibly_noisy=False,
        slice_range=(8, 12),
        spacing_mm=(0.8, 0.8, 2.0),
        image_size=(64, 64),
        dicom_window_hu=(-175.0, 275.0),
        gender='F',
        age_years=60.0,
        split='train',
    )


def slice_hu(index: int, size: tuple[int, int] = (64, 64)) -> np.ndarray:
    """A recognisable slice: every pixel holds ``10 * index`` HU, so interpolation is checkable."""
    return np.full(size, 10.0 * index, dtype=np.float32)


def write_series(root: Path, folder: str, indices, size=(64, 64)) -> None:
    series = root / 'Images_png' / folder
    series.mkdir(parents=True, exist_ok=True)
    for index in indices:
        png = (slice_hu(index, size) + HU_OFFSET).astype(np.uint16)
        cv2.imwrite(str(series / f'{index:03d}.png'), png)


@pytest.fixture
def quirky_deeplesion(tmp_path: Path) -> Path:
    """Six lesions on five key slices in four series, three patients, all three splits.

    - ``000001_01_01_010``: two lesions (duplicate File_name): liver + noisy lung; z 2 mm.
    - ``000001_01_01_012``: same series, unlabelled (-1) lesion; z 2 mm.
    - ``000002_01_01_005``: z 5 mm, lung window, box touching the image border; val.
    - ``000003_02_01_003``: z 1 mm, key slice at the series' first index; test.
    - ``000003_02_02_020``: z 1 mm; slice 19 missing on disk (nearest is used); test.
    """
    from mmlesion.datasets.dl_info import write_dl_info

    first = base_row()
    rows = [
        first,
        replace(
            first,
            coarse_type=5,
            possibly_noisy=True,
            bbox_px=(2.0, 2.0, 12.0, 10.0),
            diameters_px=(9.0, 6.0),
        ),
        replace(first, file_name='000001_01_01_012.png', key_slice_index=12, coarse_type=-1),
        replace(
            first,
            file_name='000002_01_01_005.png',
            patient_index=2,
            key_slice_index=5,
            slice_range=(3, 7),
            spacing_mm=(0.7, 0.7, 5.0),
            dicom_window_hu=(-1500.0, 500.0),
            bbox_px=(40.0, 44.0, 63.0, 63.0),
            coarse_type=5,
            split='val',
        ),
        replace(
            first,
            file_name='000003_02_01_003.png',
            patient_index=3,
            study_index=2,
            key_slice_index=3,
            slice_range=(3, 6),
            spacing_mm=(0.9, 0.9, 1.0),
            coarse_type=1,
            split='test',
        ),
        replace(
            first,
            file_name='000003_02_02_020.png',
            patient_index=3,
            study_index=2,
            series_id=2,
            key_slice_index=20,
            slice_range=(17, 23),
            spacing_mm=(0.9, 0.9, 1.0),
            coarse_type=8,
            split='test',
        ),
    ]
    write_dl_info(tmp_path / 'DL_info.csv', rows)
    write_series(tmp_path, '000001_01_01', range(8, 13))
    write_series(tmp_path, '000002_01_01', range(3, 8))
    write_series(tmp_path, '000003_02_01', range(3, 7))
    write_series(tmp_path, '000003_02_02', [17, 18, 20, 21, 22, 23])
    return tmp_path


REPO_ROOT = Path(__file__).resolve().parents[1]
# 128 px: with 8×8 tiles a tile holds 256 pixels, so clip limits above 1 really clip (a tile of
# 64 pixels floors every clip limit below 4 at one count per bin, where it has no gradient).
TINY_SIZE = 128


def tiny_detector_config():
    """The demo detector config shrunk further (8-channel ResNet-18, 16-channel FPN) so that a
    loss step on 64×64 images takes milliseconds. Untrained."""
    from mmengine.config import Config

    model = Config.fromfile(str(REPO_ROOT / 'configs/demo/faster_rcnn_r18_synth.py')).model
    model.backbone.base_channels = 8
    model.neck.in_channels = [8, 16, 32, 64]
    model.neck.out_channels = 16
    model.rpn_head.in_channels = model.rpn_head.feat_channels = 16
    model.roi_head.bbox_roi_extractor.out_channels = 16
    model.roi_head.bbox_head.in_channels = 16
    model.roi_head.bbox_head.fc_out_channels = 32
    return model  # a ConfigDict: mmdet's detectors read train_cfg/test_cfg by attribute


def tiny_enhancer_config(**overrides) -> dict:
    regressor = {'type': 'CLAHEParamRegressor', 'input_size': 32, 'base_channels': 4}
    preprocessor = {'type': 'AdaptiveCLAHEPreprocessor', 'regressor': regressor}
    preprocessor.update(overrides.pop('data_preprocessor', {}))
    config = {
        'type': 'FrozenDetectorEnhancer',
        'detector': tiny_detector_config(),
        'detector_checkpoint': None,
        'data_preprocessor': preprocessor,
    }
    config.update(overrides)
    return config


def fake_batch(batch_size: int = 2, size: int = TINY_SIZE, seed: int = 0) -> dict:
    """A packed batch as the dataloader gives it: uint8-valued float images with one lesion
    (a bright disc) each, and data samples with its box."""
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    generator = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing='ij')
    inputs, samples = [], []
    for _ in range(batch_size):
        cx, cy = (torch.randint(16, size - 16, (2,), generator=generator)).tolist()
        image = 60 + 20 * torch.rand(3, size, size, generator=generator)
        disc = ((xx - cx) ** 2 + (yy - cy) ** 2) < 36
        image[:, disc] += 40
        inputs.append(image.round())
        sample = DetDataSample(
            metainfo={
                'img_shape': (size, size),
                'ori_shape': (size, size),
                'scale_factor': (1.0, 1.0),
            }
        )
        gt = InstanceData()
        gt.bboxes = torch.tensor([[cx - 7.0, cy - 7.0, cx + 7.0, cy + 7.0]])
        gt.labels = torch.tensor([0])
        sample.gt_instances = gt
        samples.append(sample)
    return {'inputs': inputs, 'data_samples': samples}
