"""mmdet's single-level RoI extractor with RoI layers from the model registry too."""

from __future__ import annotations

from mmcv import ops
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.registry import MODELS
from torch import nn


@MODELS.register_module()
class RegisteredLayerRoIExtractor(SingleRoIExtractor):
    """:class:`SingleRoIExtractor` whose ``roi_layer`` may also name a registered module.

    mmdet looks the layer's ``type`` up in :mod:`mmcv.ops` only. This extractor takes an
    :mod:`mmcv.ops` name as before, else a class registered in ``MODELS`` (such as
    :class:`~mmlesion.models.layers.GatherRoIAlign`), built with ``spatial_scale=1 / stride``
    for each level. Everything else is :class:`SingleRoIExtractor`'s.
    """

    def build_roi_layers(self, layer_cfg: dict, featmap_strides: list[int]) -> nn.ModuleList:
        """One RoI layer a feature level, ``spatial_scale = 1 / featmap_strides[i]``."""
        layer_type = layer_cfg['type']
        if isinstance(layer_type, str) and not hasattr(ops, layer_type):
            layer_cls = MODELS.get(layer_type)
            if layer_cls is None:
                raise KeyError(
                    f'RegisteredLayerRoIExtractor: roi_layer type {layer_type!r} is neither in '
                    'mmcv.ops nor registered in MODELS'
                )
            # mmdet builds a layer from a class given as the type, one per level
            layer_cfg = {**layer_cfg, 'type': layer_cls}
        return super().build_roi_layers(layer_cfg, featmap_strides)
