"""mmengine checkpoints (with the runner's message hub) load under torch's safe-load default."""

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

import mmlesion  # noqa: F401  (registers the local checkpoint loader)


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
    # torch >= 2.6's default weights_only=True refuses HistoryBuffer and numpy scalars.
    checkpoint = _load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(checkpoint['state_dict']['w'], torch.ones(2))
    assert checkpoint['message_hub']['log_scalars']['loss'].current() == 0.5
