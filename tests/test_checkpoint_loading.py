"""Checkpoints and predictions are read without running code from them, and files that are not
checkpoints are named with what they held.

The security tests craft a file whose pickle would create a marker file when unpickled (the
classic ``__reduce__`` → ``os.system`` attack on shared weights), and check that every way in
refuses it, names the file, and never creates the marker.
"""

from __future__ import annotations

import argparse
import io
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import (
    DEMO_CONFIGS,
    DEMO_DETECTOR,
    DEMO_ENHANCER,
    REPO_ROOT,
    detector_options,
    tiny_detector_config,
    tiny_enhancer_config,
)
from mmdet.registry import MODELS
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

from mmlesion.models import CLAHEParamRegressor
from mmlesion.models.regressors import (
    build_regressor_from_checkpoint,
    enhancer_preprocessor_config,
    load_regressor_weights,
)
from mmlesion.utils import prepare_train_config, register_all_modules
from mmlesion.utils.checkpoint_loading import (
    MMENGINE_CHECKPOINT_GLOBALS,
    UNSAFE_CHECKPOINTS_ENV,
    CheckpointError,
    UnsafeCheckpointError,
    allow_unsafe_checkpoints,
    literal_config_entry,
    load_checkpoint_strictly,
    read_checkpoint,
    state_dict_of,
)
from mmlesion.utils.safe_pickle import PredictionsError, load_predictions

register_all_modules()


class TouchMarker:
    """Unpickled, it runs a shell command that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO_ROOT)


def tiny_regressor() -> CLAHEParamRegressor:
    return CLAHEParamRegressor(input_size=32, base_channels=4)


def enhancer_state() -> dict:
    return {f'data_preprocessor.regressor.{k}': v for k, v in tiny_regressor().state_dict().items()}


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / 'code_ran'


@pytest.fixture
def evil_checkpoint(tmp_path, marker) -> Path:
    """Valid enhancer weights, and a payload in its meta."""
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': enhancer_state(), 'meta': {'note': TouchMarker(marker)}}, path)
    return path


# -- weights-only reading ------------------------------------------------------------------------
def test_runner_state_in_a_checkpoint_loads(tmp_path):
    buffer = HistoryBuffer()
    buffer.update(np.float64(0.5))
    path = tmp_path / 'epoch_1.pth'
    torch.save(
        {
            'state_dict': {'w': torch.ones(2)},
            'message_hub': {'log_scalars': {'loss': buffer}},
            'meta': {'epoch': 1, 'seed': np.int64(3)},
        },
        path,
    )
    checkpoint = _load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(checkpoint['state_dict']['w'], torch.ones(2))
    assert checkpoint['message_hub']['log_scalars']['loss'].current() == 0.5


ENTRY_POINTS = {
    'read_checkpoint': lambda path: read_checkpoint(path),
    'mmengine load_from / resume': lambda path: _load_checkpoint(str(path), map_location='cpu'),
    'load_checkpoint_strictly': lambda path: load_checkpoint_strictly(tiny_regressor(), str(path)),
    'load_regressor_weights': lambda path: load_regressor_weights(tiny_regressor(), str(path)),
    'build_regressor_from_checkpoint': lambda path: build_regressor_from_checkpoint(str(path)),
    'detector_checkpoint': lambda path: MODELS.build(
        tiny_enhancer_config(detector_checkpoint=str(path))
    ),
}


@pytest.mark.parametrize('entry', list(ENTRY_POINTS))
def test_checkpoint_that_would_run_code_is_refused_everywhere(entry, evil_checkpoint, marker):
    with pytest.raises(UnsafeCheckpointError, match=r'evil\.pth: refused.*posix\.system') as info:
        ENTRY_POINTS[entry](evil_checkpoint)
    assert '--unsafe-load-checkpoint' in str(info.value)
    assert UNSAFE_CHECKPOINTS_ENV in str(info.value)
    assert not marker.exists()


def test_tool_refuses_a_checkpoint_that_would_run_code(evil_checkpoint, marker, tmp_path):
    (tmp_path / 'images').mkdir()
    cv2.imwrite(str(tmp_path / 'images' / 'slice.png'), np.zeros((8, 8), np.uint8))
    images, out = str(tmp_path / 'images'), str(tmp_path / 'out')
    done = run_tool('tools/enhance.py', images, '--checkpoint', str(evil_checkpoint), '--out', out)
    assert done.returncode != 0
    assert 'evil.pth: refused' in done.stderr
    assert not marker.exists()


def test_opt_in_reads_a_trusted_legacy_pickle(tmp_path, monkeypatch):
    path = tmp_path / 'legacy.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'args': argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'legacy\.pth: .*argparse\.Namespace'):
        read_checkpoint(path)
    monkeypatch.setenv(UNSAFE_CHECKPOINTS_ENV, '')  # restored after the test
    allow_unsafe_checkpoints()  # what --unsafe-load-checkpoint does
    assert os.environ[UNSAFE_CHECKPOINTS_ENV] == '1'
    with pytest.warns(UserWarning, match=r'legacy\.pth with plain pickle'):
        checkpoint = read_checkpoint(path)
    assert checkpoint['args'].lr == 0.1


def test_tools_offer_the_opt_in_and_say_what_it_risks():
    for tool in ('train.py', 'test.py', 'infer.py', 'enhance.py'):
        done = run_tool(f'tools/{tool}', '--help')
        assert '--unsafe-load-checkpoint' in done.stdout, tool
        assert 'RUNS ANY CODE' in ' '.join(done.stdout.split()), tool


def test_allow_list_is_what_a_runner_checkpoint_needs_and_no_more(trained_detector):
    """A real checkpoint of mmengine's Runner loads, and fails without any one allowed global."""
    checkpoint = read_checkpoint(trained_detector)
    assert checkpoint['meta']['epoch'] == 1 and checkpoint['state_dict']
    assert checkpoint['message_hub']['log_scalars']['train/lr'].mean() > 0
    for left_out in MMENGINE_CHECKPOINT_GLOBALS:
        others = [g for g in MMENGINE_CHECKPOINT_GLOBALS if g is not left_out]
        with torch.serialization.safe_globals(others), pytest.raises(pickle.UnpicklingError):
            torch.load(trained_detector, weights_only=True)


def test_getattr_in_a_checkpoint_reaches_only_history_buffer_statistics(tmp_path, marker):
    class Sneaky:
        def __reduce__(self):
            return getattr, (np.ndarray, 'tofile')

    path = tmp_path / 'sneaky.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}, 'x': Sneaky()}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"sneaky\.pth.*getattr.*'tofile'"):
        read_checkpoint(path)


# -- meta.cfg: read as literals only -------------------------------------------------------------
def enhancer_cfg_text(regressor: str) -> str:
    return (
        "model = dict(type='FrozenDetectorEnhancer', data_preprocessor=dict("
        f"type='AdaptiveCLAHEPreprocessor', regressor={regressor}))\n"
    )


def test_meta_cfg_that_would_run_code_is_refused(tmp_path, marker):
    path = tmp_path / 'enhancer.pth'
    payload = f"__import__('os').system('touch {marker}')"
    torch.save({'state_dict': enhancer_state(), 'meta': {'cfg': enhancer_cfg_text(payload)}}, path)
    with pytest.raises(CheckpointError, match=r'enhancer\.pth: .*not a plain value.*config file'):
        enhancer_preprocessor_config(str(path))
    with pytest.raises(CheckpointError, match=r'enhancer\.pth'):
        build_regressor_from_checkpoint(str(path))
    assert not marker.exists()


def test_meta_cfg_other_statements_never_run(tmp_path, marker):
    regressor = "dict(type='CLAHEParamRegressor', input_size=32, base_channels=4)"
    text = f"import os\nos.system('touch {marker}')\n" + enhancer_cfg_text(regressor)
    path = tmp_path / 'enhancer.pth'
    torch.save({'state_dict': enhancer_state(), 'meta': {'cfg': text}}, path)
    regressor = build_regressor_from_checkpoint(str(path))
    assert isinstance(regressor, CLAHEParamRegressor)
    assert not marker.exists()


def test_literal_config_entry_reads_what_mmengine_writes(tmp_path):
    from mmengine.config import Config

    cfg = Config.fromfile(str(DEMO_CONFIGS / DEMO_ENHANCER))
    model = literal_config_entry(cfg.pretty_text, 'model', 'x.pth')
    assert model == cfg.model.to_dict()
    for text, found in (
        ('model = dict(type=Foo)', "'Foo'"),
        ('model = dict(a=1 + 2)', r"'1 \+ 2'"),
        ('model = [1]', 'a list, not a dict'),
        ('model = dict(**x)', r"'dict\(\*\*x\)'"),
        ('other = 1', 'has no model'),
        ('model = (', 'not a Python config'),
    ):
        with pytest.raises(CheckpointError, match=rf'x\.pth.*{found}'):
            literal_config_entry(text, 'model', 'x.pth')


def test_checkpoint_without_meta_cfg_asks_for_the_config_file(tmp_path):
    path = tmp_path / 'old.pth'
    torch.save({'state_dict': enhancer_state()}, path)
    with pytest.raises(CheckpointError, match=r'old\.pth carries no training config.*config file'):
        enhancer_preprocessor_config(str(path))


def test_resume_drops_a_meta_config_that_mmengine_would_run(tmp_path, marker):
    path = tmp_path / 'epoch_1.pth'
    config = f"__import__('os').system('touch {marker}')"
    torch.save({'state_dict': {'w': torch.ones(1)}, 'meta': {'config': config, 'epoch': 1}}, path)
    with pytest.warns(UserWarning, match=r"epoch_1\.pth: ignoring its meta\['config'\]"):
        checkpoint = _load_checkpoint(str(path), map_location='cpu')
    assert checkpoint['meta'] == {'epoch': 1}
    assert not marker.exists()


# -- predictions pickles -------------------------------------------------------------------------
def dumped_predictions(path: Path) -> None:
    """What ``tools/test.py --out`` writes: mmdet's DumpDetResults on predicted data samples."""
    from mmdet.evaluation import DumpDetResults
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    sample = DetDataSample(metainfo={'img_path': 'a/000.png', 'img_id': 0, 'ori_shape': (8, 8)})
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[1.0, 2.0, 3.0, 4.0]]),
        scores=torch.tensor([0.5]),
        labels=torch.tensor([0]),
    )
    sample.set_metainfo({'clahe_clip_limit': np.float32(2.0), 'scale_factor': (1.0, 1.0)})
    dump = DumpDetResults(out_file_path=str(path))
    dump.process({}, [sample.to_dict()])
    dump.compute_metrics(dump.results)


def test_predictions_of_dump_det_results_load(tmp_path):
    path = tmp_path / 'predictions.pkl'
    dumped_predictions(path)
    (prediction,) = load_predictions(path)
    assert torch.equal(prediction['pred_instances']['bboxes'], torch.tensor([[1.0, 2.0, 3.0, 4.0]]))
    assert prediction['clahe_clip_limit'] == np.float32(2.0)
    with open(path, 'rb') as f:  # an open file works too, as in the analysis code
        assert load_predictions(f)[0]['img_path'] == 'a/000.png'


class StorageWithPayload:
    """A "tensor storage" whose inner pickle runs the marker command."""

    def __init__(self, marker: Path) -> None:
        inner = io.BytesIO()
        torch.save(TouchMarker(marker), inner, _use_new_zipfile_serialization=False)
        self.inner = inner.getvalue()

    def __reduce__(self):
        return torch.storage._load_from_bytes, (self.inner,)


@pytest.mark.parametrize('payload', [TouchMarker, StorageWithPayload])
def test_predictions_that_would_run_code_are_refused(tmp_path, marker, payload):
    path = tmp_path / 'evil.pkl'
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        path.write_bytes(pickle.dumps([{'img_path': 'x', 'evil': payload(marker)}], protocol))
        with pytest.raises(PredictionsError, match=r'evil\.pkl: refused.*posix\.system'):
            load_predictions(path)
    assert not marker.exists()


def test_lesion_breakdown_refuses_predictions_that_would_run_code(tmp_path, marker):
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps([TouchMarker(marker)]))
    config = str(DEMO_CONFIGS / DEMO_DETECTOR)
    done = run_tool('tools/analysis_tools/lesion_breakdown.py', config, str(path))
    assert done.returncode != 0
    assert 'evil.pkl: refused' in done.stderr
    assert not marker.exists()


def test_predictions_that_are_not_a_pickle_are_named(tmp_path):
    path = tmp_path / 'notes.pkl'
    path.write_text('not a pickle')
    with pytest.raises(PredictionsError, match=r'notes\.pkl is not a readable predictions'):
        load_predictions(path)


# -- files that are not checkpoints ---------------------------------------------------------------
def _write_zip_cut_short(path: Path) -> None:
    torch.save({'state_dict': {'w': torch.ones(64)}}, path)
    path.write_bytes(path.read_bytes()[:200])


UNREADABLE = {
    'empty': (lambda p: p.write_bytes(b''), r'is empty \(0 bytes\)'),
    'text': (lambda p: p.write_text('hello, not weights\n'), r"a text file starting 'hello"),
    'bare tensor': (lambda p: torch.save(torch.zeros(2, 3), p), r'a bare tensor of shape \(2, 3\)'),
    'truncated': (_write_zip_cut_short, r'a zip archive that torch cannot read'),
    'plain pickle': (lambda p: p.write_bytes(pickle.dumps({'a': 1})), r'not a readable checkpoint'),
    'no tensors': (
        lambda p: torch.save({'meta': {'epoch': 1}, 'note': 'x'}, p),
        r'holds no weights \(no tensors\): it has keys 2 \(meta, note\)',
    ),
    'empty state_dict': (lambda p: torch.save({'state_dict': {}}, p), "an empty 'state_dict'"),
    'state_dict not a dict': (
        lambda p: torch.save({'state_dict': [torch.ones(1)]}, p),
        r"'state_dict' holds a list",
    ),
}


@pytest.mark.parametrize('case', list(UNREADABLE))
def test_unreadable_checkpoint_names_the_file_and_what_it_held(tmp_path, case):
    write, held = UNREADABLE[case]
    path = tmp_path / 'model.pth'
    write(path)
    with pytest.raises(CheckpointError, match=rf'model\.pth.*{held}'):
        state_dict_of(read_checkpoint(path), str(path))
    with pytest.raises(CheckpointError, match=rf'model\.pth.*{held}'):
        load_checkpoint_strictly(tiny_regressor(), str(path))


def test_module_prefix_is_removed(tmp_path):
    path = tmp_path / 'ddp.pth'
    regressor = tiny_regressor()
    torch.save({'state_dict': {f'module.{k}': v for k, v in regressor.state_dict().items()}}, path)
    load_checkpoint_strictly(tiny_regressor(), str(path))


# -- resume ---------------------------------------------------------------------------------------
def _resume_cfg(data_root, work_dir: Path, checkpoint: Path, max_epochs: int):
    options = {**detector_options(data_root), 'train_cfg.max_epochs': max_epochs}
    return prepare_train_config(
        str(DEMO_CONFIGS / DEMO_DETECTOR),
        work_dir=str(work_dir),
        cfg_options=options,
        resume=str(checkpoint),
    )


def test_resume_from_a_runner_checkpoint_goes_on(trained_detector, data_root, tmp_path):
    epoch_1 = Path(trained_detector).parent / 'epoch_1.pth'
    resumed = tmp_path / 'epoch_1.pth'
    shutil.copy(epoch_1, resumed)
    Runner.from_cfg(_resume_cfg(data_root, tmp_path, resumed, max_epochs=2)).train()
    final = read_checkpoint(tmp_path / 'epoch_2.pth')
    assert final['meta']['epoch'] == 2
    assert final['meta']['iter'] == 2 * read_checkpoint(resumed)['meta']['iter']


@pytest.mark.parametrize('meta', [{'iter': 3}, None, {'epoch': 'one', 'iter': 3}])
def test_resume_without_meta_epoch_names_the_file_and_field(data_root, tmp_path, meta):
    checkpoint = {'state_dict': MODELS.build(tiny_detector_config()).state_dict()}
    if meta is not None:
        checkpoint['meta'] = meta
    path = tmp_path / 'weights.pth'
    torch.save(checkpoint, path)
    runner = Runner.from_cfg(_resume_cfg(data_root, tmp_path / 'work', path, max_epochs=1))
    field = 'meta.epoch' if meta is not None else 'it has no meta'
    with pytest.raises(CheckpointError, match=rf'weights\.pth: cannot resume from it: {field}'):
        runner.train()
