"""An optimizer-wrapper constructor for models that carry a frozen sub-network."""

from __future__ import annotations

from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableParamsOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, leaving wholly frozen sub-modules out of the optimizer.

    With a ``paramwise_cfg`` (e.g. a learning-rate multiplier for the regressor's trunk) the
    default constructor logs one warning per frozen parameter tensor: 189 lines for the frozen
    demo detector of a ``FrozenDetectorEnhancer``, more for a ResNet-50. This one skips every
    sub-module whose parameters all have ``requires_grad=False`` and says so in one line per
    module; trainable parameters get exactly the default constructor's groups.

    Use: ``optim_wrapper = dict(constructor='TrainableParamsOptimWrapperConstructor', ...)``.
    """

    def add_params(
        self, params: list[dict], module: nn.Module, prefix: str = '', is_dcn_module=None
    ) -> None:
        tensors = list(module.parameters())
        if tensors and not any(p.requires_grad for p in tensors):
            values = sum(p.numel() for p in tensors)
            print_log(
                f'{prefix or "model"}: frozen ({len(tensors)} parameter tensors, {values:,} '
                'values), left out of the optimizer',
                logger='current',
            )
            return
        super().add_params(params, module, prefix=prefix, is_dcn_module=is_dcn_module)
