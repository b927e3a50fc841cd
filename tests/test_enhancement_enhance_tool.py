import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
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
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob('*') if p.is_file())
    assert written == ['plain_glcae.png', 'study/001_glcae.png']
    canvas = cv2.imread(str(out / 'study' / '001_glcae.png'), cv2.IMREAD_UNCHANGED)
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


def test_a_gated_regressor_writes_the_blend_it_would_feed_the_detector(tmp_path, monkeypatch):
    from mmdet.registry import MODELS

    from mmlesion.utils import register_all_modules

    register_all_modules()
    tool = _load_tool()
    cfg = Config.fromfile(str(DEMO_CONFIGS / 'enhancer_r18-w16_6e_synth_gated.py'))
    cfg.model.data_preprocessor.regressor.update(input_size=32, base_channels=4)
    regressor = MODELS.build(cfg.model.data_preprocessor.regressor)
    with torch.no_grad():  # alpha exactly 0: the "after" half must be the input itself
        regressor.gate_head[-1].bias.fill_(-200.0)
    state = {f'data_preprocessor.regressor.{k}': v for k, v in regressor.state_dict().items()}
    checkpoint = tmp_path / 'enhancer.pth'
    torch.save({'state_dict': state, 'meta': {'cfg': cfg.pretty_text}}, checkpoint)
    _gray(tmp_path / 'plain.png')
    _run(tool, monkeypatch, tmp_path / 'plain.png', tmp_path / 'out', '--checkpoint', checkpoint)
    canvas = cv2.imread(str(tmp_path / 'out' / 'plain_glcae.png'), cv2.IMREAD_UNCHANGED)
    before, after = np.split(canvas[tool.TITLE_HEIGHT :], 2, axis=1)
    assert np.array_equal(after, before)


def _run(tool, monkeypatch, source, out, *extra) -> None:
    argv = ['enhance.py', str(source), '--out', str(out), '--device', 'cpu', *map(str, extra)]
    monkeypatch.setattr(sys, 'argv', argv)
    tool.main()


def _gray(path, seed=0, dtype=np.uint8, high=90):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.random.default_rng(seed).integers(40, high, (32, 24)).astype(dtype)
    assert cv2.imwrite(str(path), image)


def _outputs(out):
    return sorted(p.relative_to(out).as_posix() for p in out.rglob('*') if p.is_file())


def test_inputs_whose_flattened_names_once_collided_get_their_own_outputs(tmp_path, monkeypatch):
    tool = _load_tool()
    source = tmp_path / 'in'
    for seed, name in enumerate(('a/b_c.png', 'a_b/c.png', 'x.png', 'x.jpg')):
        _gray(source / name, seed)
    _run(tool, monkeypatch, source, tmp_path / 'out')
    assert _outputs(tmp_path / 'out') == [
        'a/b_c_glcae.png',
        'a_b/c_glcae.png',
        'x.jpg_glcae.png',
        'x_glcae.png',
    ]


def test_inputs_that_would_still_share_an_output_are_refused_before_writing(tmp_path, monkeypatch):
    tool = _load_tool()
    _gray(tmp_path / 'in' / 'x.jpg')
    _gray(tmp_path / 'in' / 'x.jpg.png')
    with pytest.raises(SystemExit, match=r'x\.jpg and .*x\.jpg\.png .*x\.jpg_glcae\.png'):
        _run(tool, monkeypatch, tmp_path / 'in', tmp_path / 'out')
    assert not (tmp_path / 'out').exists()


def test_an_output_folder_inside_the_input_is_not_read_back(tmp_path, monkeypatch):
    tool = _load_tool()
    _gray(tmp_path / 'in' / 'x.png')
    for _ in range(2):
        _run(tool, monkeypatch, tmp_path / 'in', tmp_path / 'in' / 'enh')
    assert _outputs(tmp_path / 'in' / 'enh') == ['x_glcae.png']


def test_float_images_in_unit_range_are_enhanced_others_are_named_and_skipped(
    tmp_path, monkeypatch, capsys
):
    tool = _load_tool()
    source = tmp_path / 'in'
    source.mkdir()
    unit = np.random.default_rng(0).random((32, 24), dtype=np.float32)
    assert cv2.imwrite(str(source / 'unit.tiff'), unit)
    assert cv2.imwrite(str(source / 'hu.tiff'), unit * 1000 - 500)
    _gray(source / 'plain.png')
    with pytest.raises(SystemExit) as exit_info:
        _run(tool, monkeypatch, source, tmp_path / 'out')
    message = str(exit_info.value.code)
    assert message.startswith('1 of 3 images failed') and message.endswith('hu.tiff')
    assert _outputs(tmp_path / 'out') == ['plain_glcae.png', 'unit.tiff_glcae.png']
    assert np.allclose(tool._read_unit_image(source / 'unit.tiff', (-1024.0, 1050.0)), unit)
    err = capsys.readouterr().err
    assert 'hu.tiff: skipped' in err and 'float32 image must hold values in [0, 1]' in err


def test_a_full_disk_keeps_the_previous_enhanced_image(tmp_path, monkeypatch, full_disk):
    tool = _load_tool()
    _gray(tmp_path / 'in' / 'x.png')
    _run(tool, monkeypatch, tmp_path / 'in', tmp_path / 'out', '--clip', '2')
    before = (tmp_path / 'out' / 'x_glcae.png').read_bytes()
    full_disk('x_glcae.png')
    with pytest.raises(SystemExit, match='1 of 1 images failed'):
        _run(tool, monkeypatch, tmp_path / 'in', tmp_path / 'out', '--clip', '4')
    assert (tmp_path / 'out' / 'x_glcae.png').read_bytes() == before
    assert _outputs(tmp_path / 'out') == ['x_glcae.png']
