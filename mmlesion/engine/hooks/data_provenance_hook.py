"""Record in every checkpoint which data its weights were trained on."""

from __future__ import annotations

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from mmlesion.datasets.provenance import TRAINING_DATA_KEY, describe_training_data


@HOOKS.register_module()
class DataProvenanceHook(Hook):
    """Write ``checkpoint['meta']['training_data']`` before each checkpoint is saved.

    The value is :func:`~mmlesion.datasets.provenance.describe_training_data` of the run's
    ``train_dataloader.dataset`` config: the dataset type, its absolute ``data_root`` and
    ``ann_file``, and ``synthetic`` (True when the data root holds the synthetic generator's
    sidecar). :class:`~mmlesion.apis.LesionInferencer` reads it and warns on synthetic-only
    weights. It is ``default_hooks.data_provenance`` in ``configs/_base_/default_runtime.py``.
    """

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        dataset = runner.cfg.get('train_dataloader', {}).get('dataset')
        if dataset is None:
            return
        checkpoint.setdefault('meta', {})[TRAINING_DATA_KEY] = describe_training_data(dataset)
