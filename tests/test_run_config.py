"""tools/train.py and tools/test.py: --data-root, testing with only the test data, refusing a
checkpoint that does not fit, and ImageNet weights without torchvision or network."""

from __future__ import annotations

import subprocess
import sys
import types
import urllib.error

import pytest
from conftest import DEMO_CONFIGS, REPO_ROOT, tiny_detector_config
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader

from mmlesion.utils import (
    checkpoint_loading,
    prepare_distributed,
    prepare_test_config,
    prepare_train_config,
    register_all_modules,
)

register_all_modules()
DETECTOR = str(DEMO_CONFIGS / 'faster_rcnn_r18-w32_fpn_48e_synth.py')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def test_data_root_points_every_dataloader_at_one_folder(tmp_path):
    cfg = prepare_train_config(DETECTOR, data_root=str(tmp_path))
    assert {cfg[name].dataset.data_root for name in LOADERS} == {f'{tmp_path}/'}
    cfg = prepare_test_config(DETECTOR, 'x.pth', data_root=str(tmp_path))
    assert {cfg[name].dataset.data_root for name in LOADERS} == {f'{tmp_path}/'}
    with pytest.raises(FileNotFoundError, match='--data-root: no such folder'):
        prepare_train_config(DETECTOR, data_root=str(tmp_path / 'nowhere'))


def test_test_config_leaves_out_training_only_hooks():
    cfg = prepare_test_config(DETECTOR, 'x.pth')
    assert not [h for h in cfg.custom_hooks if h.type == 'EarlyStoppingHook']
    assert [h for h in Config.fromfile(DETECTOR).custom_hooks if h.type == 'EarlyStoppingHook']


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=False, cwd=REPO_ROOT
    )


@pytest.fixture(scope='module')
def tiny_detector_file(tmp_path_factory) -> str:
    """The demo detector config with the tiny model; its data roots point nowhere."""
    cfg = Config.fromfile(DETECTOR)
    cfg.model = tiny_detector_config()
    for name in LOADERS:
        cfg[name].dataset.data_root = '/nonexistent/deeplesion/'
        cfg[name].batch_size = 2
    path = tmp_path_factory.mktemp('configs') / 'tiny_detector.py'
    cfg.dump(str(path))
    return str(path)


# --tta: the detector's checkpoint loads into the test-time augmentation's module.
@pytest.mark.parametrize('flags', [(), ('--tta',)])
def test_test_tool_needs_only_the_test_data(tiny_detector_file, trained_detector, data_root, flags):
    done = run_tool(
        'tools/test.py',
        tiny_detector_file,
        trained_detector,
        *flags,
        '--work-dir',
        str(data_root.parent / f'test_only{"".join(flags)}'),
        '--cfg-options',
        f'test_dataloader.dataset.data_root={data_root}/',
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert 'deeplesion/mAP' in done.stdout + done.stderr


def test_test_tool_refuses_a_checkpoint_of_another_model(tiny_detector_file, tmp_path):
    import torch

    detector = MODELS.build(tiny_detector_config()).state_dict()
    torch.save(
        {'state_dict': {f'detector.{k}': v for k, v in detector.items()}}, tmp_path / 'enhancer.pth'
    )
    done = run_tool(
        'tools/test.py',
        tiny_detector_file,
        str(tmp_path / 'enhancer.pth'),
        '--work-dir',
        str(tmp_path),
    )
    assert done.returncode != 0
    assert 'enhancer.pth does not fit the model of this config (FasterRCNN)' in done.stderr
    assert 'it is an enhancer checkpoint' in done.stderr


def test_strict_loading_accepts_the_model_own_checkpoint_and_names_what_differs(tmp_path):
    import torch

    model = MODELS.build(tiny_detector_config())
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'own.pth')
    fresh = MODELS.build(tiny_detector_config())
    checkpoint_loading.load_checkpoint_strictly(fresh, str(tmp_path / 'own.pth'))
    partial = {k: v for k, v in model.state_dict().items() if not k.startswith('roi_head.')}
    torch.save({'state_dict': partial}, tmp_path / 'partial.pth')
    with pytest.raises(ValueError, match=r'partial\.pth does not fit .*missing \d+ \(roi_head\.'):
        checkpoint_loading.load_checkpoint_strictly(model, str(tmp_path / 'partial.pth'))
    other = tiny_detector_config()
    other.roi_head.bbox_head.num_classes = 8
    torch.save({'state_dict': MODELS.build(other).state_dict()}, tmp_path / 'other.pth')
    with pytest.raises(ValueError, match=r'other\.pth does not fit .*shape mismatch 4 \(roi_head'):
        checkpoint_loading.load_checkpoint_strictly(model, str(tmp_path / 'other.pth'))


def test_imagenet_init_without_torchvision_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, 'torchvision', None)  # import torchvision fails
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / 'faster_rcnn_r50_fpn_deeplesion.py'))
    assert cfg.model.backbone.init_cfg.checkpoint == 'torchvision://resnet50'
    model = MODELS.build(cfg.model)
    with pytest.raises(ImportError, match=r'torchvision==0\.28\.0.*model\.backbone\.init_cfg=None'):
        model.init_weights()


def test_imagenet_download_failure_says_what_to_do(monkeypatch):
    def offline(filename, map_location=None):
        raise urllib.error.URLError('Temporary failure in name resolution')

    monkeypatch.setitem(sys.modules, 'torchvision', types.ModuleType('torchvision'))
    monkeypatch.setattr(checkpoint_loading, 'load_from_torchvision', offline)
    with pytest.raises(RuntimeError, match=r'network access.*model\.backbone\.init_cfg=None'):
        CheckpointLoader.load_checkpoint('torchvision://resnet18')


def test_torchvision_pin_matches_the_imagenet_extra():
    # setup.py's `imagenet` extra reads requirements/optional.txt; the error message's pin must
    # be that line.
    optional = (REPO_ROOT / 'requirements' / 'optional.txt').read_text().splitlines()
    pins = [line.strip() for line in optional if line.startswith('torchvision==')]
    assert pins == [checkpoint_loading.TORCHVISION_REQUIREMENT]


def test_pytorch_launcher_outside_torchrun_names_the_missing_variables(monkeypatch):
    for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    cfg = Config({'launcher': 'pytorch'})
    with pytest.raises(RuntimeError, match=r"torchrun sets; \['RANK', 'WORLD_SIZE'"):
        prepare_distributed(cfg)


def test_train_tool_refuses_an_enhancer_without_detector_checkpoint(tmp_path):
    done = run_tool(
        'tools/train.py',
        str(DEMO_CONFIGS / 'enhancer_r18-w16_6e_synth.py'),
        '--work-dir',
        str(tmp_path),
    )
    assert done.returncode != 0
    assert 'model.detector_checkpoint is not set' in done.stderr
    assert not list(tmp_path.rglob('*.pth'))
