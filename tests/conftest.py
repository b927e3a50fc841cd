"""Shared fixtures: a hand-made DeepLesion tree with the real release's quirks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

# conftest is imported before pytest_configure installs the warning filters: mmlesion (which
# imports torch and mmengine) is imported inside the fixtures.
HU_OFFSET = 32768


def pytest_configure(config: pytest.Config) -> None:
    # mmengine's import of torch.jit.script/interface warns on every run: not ours to fix, and
    # it drowns the report.
    config.addinivalue_line(
        'filterwarnings', r'ignore:`torch\.jit\..*deprecated:DeprecationWarning'
    )


# Inputs every enhancement op must survive: id -> (shape, fill value, or None for seeded noise).
DEGENERATE_IMAGES = {
    'black': ((2, 1, 24, 24), 0.0),
    'constant': ((1, 2, 24, 24), 0.7),
    'constant-hu': ((1, 1, 24, 24), -300.0),
    'one-pixel': ((1, 1, 1, 1), None),
    'tiny': ((1, 1, 2, 3), None),
    'thin': ((1, 1, 7, 300), None),
}


@pytest.fixture(params=list(DEGENERATE_IMAGES))
def degenerate_image(request: pytest.FixtureRequest):
    """A ``(B, C, H, W)`` float32 degenerate image: black, constant (also in HU), one pixel,
    2x3 or 7x300 noise (seeded)."""
    import torch

    shape, fill = DEGENERATE_IMAGES[request.param]
    if fill is None:
        return torch.rand(shape, generator=torch.Generator().manual_seed(0))
    return torch.full(shape, fill)


def dl_info_header() -> str:
    from mmlesion.datasets.dl_info import DL_INFO_COLUMNS

    return ','.join(DL_INFO_COLUMNS)


# Rows in the release's own formatting: two lesions on one slice (duplicate File_name), an
# unlabelled (-1) train row, a lung window, z spacing 1/2/5 mm, a box touching the border,
# a missing age.
REAL_STYLE_ROWS = [
    '000001_01_01_109.png,1,1,1,109,"233.537, 95.0204, 234.057, 106.977, 231.169, 101.605, '
    '236.252, 101.143","226.169, 90.0204, 241.252, 111.977","11.9677, 5.10387",'
    '"0.44666, 0.283794, 0.434454",3,0,"103, 115","0.488281, 0.488281, 5","512, 512",'
    '"-175, 275",F,62,3',
    '000001_01_01_109.png,1,1,1,109,"300.1, 200.2, 320.3, 210.4, 310.0, 200.0, 309.0, 212.0",'
    '"295.1, 195.2, 325.3, 217","22.1, 12.3","0.6, 0.4, 0.43",4,1,"103, 115",'
    '"0.488281, 0.488281, 5","512, 512","-175, 275",F,62,3',
    '000002_02_01_040.png,2,2,1,40,"10, 20, 30, 40, 15, 35, 25, 25","0, 15, 35, 45",'
    '"28.28, 14.14","0.1, 0.2, 0.3",-1,0,"30, 50","0.7, 0.7, 1","512, 512","-1500, 500",M,,1',
    '000003_01_02_012.png,3,1,2,12,"400, 400, 420, 420, 405, 415, 415, 405",'
    '"395, 395, 511, 511","28.3, 14.1","0.8, 0.8, 0.9",1,0,"5, 20","0.8, 0.8, 2","512, 512",'
    '"-500, 1300",M,71,2',
]


def write_csv(tmp_path, rows, header=None):
    """A DL_info.csv of raw ``rows`` (strings) under the release's header."""
    header = dl_info_header() if header is None else header
    path = tmp_path / 'DL_info.csv'
    path.write_text('\n'.join([header, *rows]) + '\n')
    return path


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
def mmengine_log():
    """The messages logged through mmengine's current logger while the test runs, as a list.

    A handler on the logger itself, not ``capsys``: mmengine's stream handler keeps the
    ``sys.stdout`` of the moment the logger was first made, which an earlier test may have
    captured, so the test's own ``capsys`` can see nothing of it.
    """
    import logging

    from mmengine.logging import MMLogger

    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(f'{record.levelname} {record.getMessage()}')

    logger = MMLogger.get_current_instance()
    handler = _Collect(level=logging.DEBUG)
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


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


def data_item(root, file_name):
    """The DeepLesionDataset item (before its pipeline) of key slice ``file_name``."""
    from mmlesion.datasets import DeepLesionDataset

    dataset = DeepLesionDataset(
        data_root=str(root),
        ann_file='DL_info.csv',
        data_prefix={'img': 'Images_png/'},
        split=None,
        pipeline=[],
    )
    for i in range(len(dataset)):
        item = dataset.get_data_info(i)
        if item['img_id'] == file_name:
            return item
    raise KeyError(file_name)


REPO_ROOT = Path(__file__).resolve().parents[1]
# 128 px: with 8×8 tiles a tile holds 256 pixels, so clip limits above 1 really clip (a tile of
# 64 pixels floors every clip limit below 4 at one count per bin, where it has no gradient).
TINY_SIZE = 128


def tiny_detector_config():
    """The demo detector config shrunk further (8-channel ResNet-18, 16-channel FPN) so that a
    loss step on 64×64 images takes milliseconds. Untrained."""
    from mmengine.config import Config

    model = Config.fromfile(
        str(REPO_ROOT / 'configs/demo/faster_rcnn_r18-w32_fpn_48e_synth.py')
    ).model
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
        # Tests train in front of the untrained tiny detector on purpose.
        'allow_random_detector': True,
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


def predict(model, batch) -> list:
    """The data samples ``model`` (an enhancer or a detector) predicts for ``batch``, eval mode."""
    model.eval()
    with torch.no_grad():
        return model.test_step(batch)


def detections(model, batch) -> list[tuple]:
    """(boxes, scores, labels) of each image of ``batch``."""
    return [
        (o.pred_instances.bboxes, o.pred_instances.scores, o.pred_instances.labels)
        for o in predict(model, batch)
    ]


def same_detections(first, second) -> bool:
    """Whether two :func:`detections` lists are equal, tensor for tensor, bit for bit."""
    return all(
        torch.equal(a, b)
        for one, two in zip(first, second, strict=True)
        for a, b in zip(one, two, strict=True)
    )


def fractional_batch() -> dict:
    """``fake_batch`` with intensities off the integer grid (as a windowed HU image has them),
    where ``x / 255 * 255`` is not always ``x``."""
    batch = fake_batch()
    generator = torch.Generator().manual_seed(1)
    batch['inputs'] = [x + torch.rand(x.shape, generator=generator) for x in batch['inputs']]
    return batch


DEMO_CONFIGS = REPO_ROOT / 'configs' / 'demo'
DEMO_DETECTOR = 'faster_rcnn_r18-w32_fpn_48e_synth.py'
DEMO_ENHANCER = 'enhancer_r18-w16_6e_synth.py'


@pytest.fixture(scope='session')
def data_root(tmp_path_factory) -> Path:
    """A synthetic DeepLesion of 6 patients at 96 pixels (all splits), generated once."""
    from mmlesion.datasets.synthetic import SyntheticConfig, generate_dataset

    root = tmp_path_factory.mktemp('synthetic')
    generate_dataset(root, SyntheticConfig(num_patients=6, seed=3, image_size=96))
    return root


def data_options(root: Path) -> dict:
    options = {}
    for split in ('train', 'val', 'test'):
        options[f'{split}_dataloader.dataset.data_root'] = str(root)
        options[f'{split}_dataloader.batch_size'] = 2
    return options


def detector_options(root: Path) -> dict:
    return {
        **data_options(root),
        'model': tiny_detector_config().to_dict(),
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'randomness.seed': 0,
    }


@dataclass(frozen=True)
class TrainedRun:
    """Where an in-process training run left its best checkpoint and its logs."""

    best_checkpoint: str
    log_dir: str


def newest_checkpoint(work_dir: str) -> str:
    """The ``best_*.pth`` the CheckpointHook kept in ``work_dir``, else the latest epoch's."""
    for pattern in ('best_*.pth', 'epoch_*.pth'):
        found = sorted(Path(work_dir).glob(pattern), key=lambda p: p.stat().st_mtime)
        if found:
            return str(found[-1])
    raise FileNotFoundError(f'no checkpoint in {work_dir}')


def train_in_process(
    config: str, work_dir: str, cfg_options: dict | None = None, resume: str | None = None
) -> TrainedRun:
    """Train ``config`` with the mmengine Runner in this process, as ``tools/train.py`` does."""
    from mmengine.runner import Runner

    from mmlesion.utils import prepare_train_config

    cfg = prepare_train_config(config, work_dir=work_dir, cfg_options=cfg_options, resume=resume)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return TrainedRun(newest_checkpoint(work_dir), runner.log_dir)


def evaluate_in_process(
    config: str,
    checkpoint: str,
    work_dir: str,
    cfg_options: dict | None = None,
    out: str | None = None,
) -> dict[str, float]:
    """Test ``checkpoint`` on ``config``'s test split in this process, as ``tools/test.py``."""
    from mmengine.runner import Runner

    from mmlesion.utils import prepare_test_config

    cfg = prepare_test_config(
        config, checkpoint, work_dir=work_dir, cfg_options=cfg_options, out=out
    )
    return dict(Runner.from_cfg(cfg).test())


@pytest.fixture(scope='session')
def trained_detector(data_root, tmp_path_factory) -> str:
    """The tiny demo detector trained one epoch on ``data_root`` through the Runner."""
    work_dir = tmp_path_factory.mktemp('detector')
    result = train_in_process(
        str(DEMO_CONFIGS / DEMO_DETECTOR), str(work_dir), detector_options(data_root)
    )
    assert Path(result.best_checkpoint).is_file()
    assert Path(result.log_dir, 'vis_data', 'scalars.json').is_file()
    return result.best_checkpoint


def enhancer_options(root: Path, detector_checkpoint: str) -> dict:
    detector = tiny_detector_config().to_dict()
    return {
        **data_options(root),
        'model.detector': detector,
        'model.detector_checkpoint': detector_checkpoint,
        'model.data_preprocessor.regressor.input_size': 64,
        'model.data_preprocessor.regressor.base_channels': 4,
        'model.map_delta_interval': 1,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'randomness.seed': 0,
    }


@pytest.fixture(autouse=True)
def _ieee_subnormals_after_each_test():
    """Tools run in-process (their main() flushes subnormals to zero for the whole process);
    give the next test IEEE subnormals back (hypothesis refuses to run without them)."""
    yield
    torch.set_flush_denormal(False)


@pytest.fixture
def full_disk(monkeypatch):
    """``full_disk(name)``: from then on, a write to a file whose name contains ``name`` writes
    half its bytes and fails with ENOSPC, as a disk that fills up midway. It catches ``os.write``
    (telling files apart by their ``/proc/self/fd`` link, Linux) and files opened for writing
    with ``open``/``io.open`` (``Path.write_text``, mmengine's ``LocalBackend.put``)."""
    import builtins
    import errno
    import io
    import os

    if not os.path.isdir('/proc/self/fd'):
        pytest.skip('needs /proc/self/fd to tell which file a write goes to')
    real_write, real_open, names = os.write, builtins.open, []

    def doomed(target: str) -> bool:
        return any(name in os.path.basename(target) for name in names)

    def fail(target: str) -> OSError:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), target)

    def write(fd: int, data) -> int:
        try:
            target = os.readlink(f'/proc/self/fd/{fd}')
        except OSError:
            target = ''
        if doomed(target):
            real_write(fd, memoryview(data)[: len(data) // 2])
            raise fail(target)
        return real_write(fd, data)

    class FillingFile:
        def __init__(self, file, target: str) -> None:
            self._file, self._target = file, target

        def write(self, data) -> int:
            self._file.write(data[: len(data) // 2])
            self._file.flush()
            raise fail(self._target)

        def __getattr__(self, name: str):
            return getattr(self._file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc_info) -> None:
            self._file.close()

    def open_(file, mode='r', *args, **kwargs):
        opened = real_open(file, mode, *args, **kwargs)
        if isinstance(file, (str, os.PathLike)) and set(mode) & set('wax+') and doomed(str(file)):
            return FillingFile(opened, str(file))
        return opened

    monkeypatch.setattr(os, 'write', write)
    monkeypatch.setattr(builtins, 'open', open_)
    monkeypatch.setattr(io, 'open', open_)
    return names.append
