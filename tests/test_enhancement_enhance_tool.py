import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from conftest import DEMO_CONFIGS
from mmengine.config import Config

from mmlesion.datasets import HU_OFFSET

TOOL = Path(__file__).resolve().parents[1] / 'tools' / 'enhance.py'


def _load_tool():
    spec = importlib.util.spec_from_file_location('enhance_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_writes_side_by_side_pngs_for_a_folder(tmp_path, monkeypatch):
    tool = _load_tool()
    rng = np.random.default_rng(0)
    (tmp_path / 'in' / 'study').mkdir(parents=True)
    cv2.imwrite(str(tmp_path / 'in' / 'plain.png'), rng.integers(40, 90, (48, 40), np.uint8))
    hu = rng.integers(-200, 200, (48, 40)) + HU_OFFSET
    cv2.imwrite(str(tmp_path / 'in' / 'study' / '001.png'), hu.astype(np.uint16))
    out = tmp_path / 'out'
    argv = ['enhance.py', str(tmp_path / 'in'), '--out', str(out), '--grid', '3.5']
    argv += ['--device', 'cpu']
    monkeypatch.setattr(sys, 'argv', argv)
    tool.main()
    written = sorted(p.name for p in out.iterdir())
    assert written == ['plain_glcae.png', 'study_001_glcae.png']
    canvas = cv2.imread(str(out / 'study_001_glcae.png'), cv2.IMREAD_UNCHANGED)
    assert canvas.shape == (48 + tool.TITLE_HEIGHT, 80) and canvas.dtype == np.uint8


def test_deeplesion_pngs_are_windowed_in_hounsfield_units(tmp_path):
    tool = _load_tool()
    hu = np.array([[-2000, -1024, 13, 1050, 3000]]) + HU_OFFSET
    path = tmp_path / 'slice.png'
    cv2.imwrite(str(path), hu.astype(np.uint16))
    image = tool._read_unit_image(path, (-1024.0, 1050.0))
    assert np.allclose(image, [[0.0, 0.0, 1037 / 2074, 1.0, 1.0]])


def test_a_trained_regressor_chooses_the_parameters(tmp_path, monkeypatch, capsys):
    from mmdet.registry import MODELS

    from mmlesion.utils import register_all_modules

    register_all_modules()
    tool = _load_tool()
    cfg = Config.fromfile(str(DEMO_CONFIGS / 'enhancer_r18-w16_6e_synth.py'))
    regressor_cfg = cfg.model.data_preprocessor.regressor
    regressor_cfg.update(input_size=32, base_channels=4, init_params=(3.0, 5.0))
    regressor = MODELS.build(regressor_cfg)
    state = {f'data_preprocessor.regressor.{k}': v for k, v in regressor.state_dict().items()}
    checkpoint = tmp_path / 'enhancer.pth'
    torch.save({'state_dict': state, 'meta': {'cfg': cfg.pretty_text}}, checkpoint)
    image = tmp_path / 'plain.png'
    cv2.imwrite(str(image), np.random.default_rng(0).integers(40, 90, (48, 40), np.uint8))
    argv = ['enhance.py', str(image), '--out', str(tmp_path / 'out'), '--device', 'cpu']
    monkeypatch.setattr(sys, 'argv', [*argv, '--checkpoint', str(checkpoint)])
    tool.main()
    assert (tmp_path / 'out' / 'plain_glcae.png').is_file()
    assert '(clip 3.00, grid 5.00)' in capsys.readouterr().out
