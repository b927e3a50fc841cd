"""BatchNorms folded into the convolutions before them, for inference passes only.

In eval mode a BatchNorm is an affine map per channel: folded into the preceding convolution's
weights and bias it costs nothing, where on its own it is a pass over every feature map. The
module keeps its BatchNorms (they are what training updates and what the state dict holds); a
folded copy is built on demand, cached, and rebuilt as soon as any weight or statistic of the
original changes.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.fx.experimental.optimization import fuse


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """A copy of ``module`` (in eval mode) with each BatchNorm that only reads a convolution's
    output folded into that convolution.

    ``torch.fx`` traces the module, so a BatchNorm is folded only where the data flow makes it
    exact. On the CPU the folded 4-D weights are stored channels-last, the layout the
    convolutions run in (the regressor's trunk reads channels-last tensors), so that they are
    not converted at every call. The outputs equal the module's to float rounding.
    """
    if module.training:
        raise ValueError(
            f'fold_batch_norms folds eval-mode statistics; {type(module).__name__} '
            'is in training mode'
        )
    folded = fuse(module)
    for conv in folded.modules():
        if isinstance(conv, nn.Conv2d) and conv.weight.device.type == 'cpu':
            conv.weight.data = conv.weight.data.contiguous(memory_format=torch.channels_last)
    return folded


def weights_key(module: nn.Module) -> tuple:
    """A key that changes whenever a parameter or buffer of ``module`` changes: in place (an
    optimizer step, ``load_state_dict``, a BatchNorm's running statistics) or by replacement
    (``.to()``)."""
    tensors = [*module.parameters(), *module.buffers()]
    return tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in tensors)


class FoldedCopy:
    """The folded copy of one module, rebuilt when the module's weights change.

    Not an ``nn.Module``: held as a plain attribute, it stays out of the owner's state dict,
    parameters and ``.to()``.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._folded: nn.Module | None = None

    def get(self, module: nn.Module) -> nn.Module:
        """The folded copy of ``module`` (which must be in eval mode) for its current weights."""
        key = weights_key(module)
        if self._folded is None or key != self._key:
            self._folded = fold_batch_norms(module)
            self._key = key
        return self._folded
