"""tools/misc/print_config.py: the config after _base_ and --cfg-options."""

from __future__ import annotations

import re
import sys

from conftest import REPO_ROOT
from mmengine.config import Config
from tool_configs import load_tool

CONFIG = REPO_ROOT / 'configs' / 'faster_rcnn_r50_fpn_deeplesion.py'


def test_print_config_shows_inherited_and_overridden_fields(tmp_path, monkeypatch, capsys):
    saved = tmp_path / 'full.py'
    argv = ['print_config.py', str(CONFIG), '--cfg-options', 'train_dataloader.batch_size=7']
    monkeypatch.setattr(sys, 'argv', [*argv, '--save-path', str(saved)])
    load_tool('tools/misc/print_config.py').main()
    printed = capsys.readouterr().out
    assert printed.startswith('Config:\n')
    # From _base_/datasets/deeplesion.py, a file the leaf config does not spell out.
    assert "type='DeepLesionMetric'" in printed
    batch_sizes = re.findall(r'\bbatch_size=(\d+)', printed)
    assert '7' in batch_sizes and '26' not in batch_sizes  # 26: the config's own
    # The saved file is the whole config: it loads without its _base_ files.
    full = Config.fromfile(str(saved))
    assert full.train_dataloader.batch_size == 7
    assert full.test_evaluator.type == 'DeepLesionMetric'
