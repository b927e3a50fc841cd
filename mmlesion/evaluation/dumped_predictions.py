"""Scoring predictions dumped by ``tools/test.py --out preds.pkl`` again, without the model.

mmdet's ``DumpDetResults`` keeps each test sample's metainfo (``img_path``, ``img_id``, ...) and
``pred_instances`` (``bboxes`` ``(N, 4)`` x1, y1, x2, y2 in the original image's pixels,
``scores`` ``(N,)``, ``labels`` ``(N,)``) but drops the ground truth. The ground truth comes
back from the dataset the predictions were made on, matched by ``img_path``; any
:class:`~mmlesion.evaluation.DeepLesionMetric` settings (e.g. another FROC ``protocol``) then
score them. ``tools/analysis_tools/eval_metric.py`` is the command line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .metrics import DeepLesionMetric
from .subset_evaluation import _sample


@dataclass(frozen=True)
class RescoredPredictions:
    """The metrics of dumped predictions, and how they were matched to the dataset."""

    #: ``'deeplesion/<key>'`` -> value, as :class:`DeepLesionMetric` reports it.
    metrics: dict[str, float]
    #: Key slices scored (dataset items with a prediction).
    num_images: int
    #: ``img_path`` of the predictions whose key slice is not in the dataset (e.g. slices a
    #: ``noisy_lesions='drop'`` dataset leaves out); they are not scored.
    left_out: tuple[str, ...]


def deeplesion_metric_kwargs(test_evaluator: Mapping | Sequence[Mapping]) -> dict:
    """The ``DeepLesionMetric`` arguments of a config's ``test_evaluator`` (a dict or a list of
    them, e.g. with the ``DumpDetResults`` that ``--out`` adds), without ``type``.

    Raises:
        ValueError: no ``DeepLesionMetric`` among the evaluators.
    """
    evaluators = [test_evaluator] if isinstance(test_evaluator, Mapping) else list(test_evaluator)
    for evaluator in evaluators:
        if evaluator.get('type') == 'DeepLesionMetric':
            return {key: value for key, value in dict(evaluator).items() if key != 'type'}
    types = [evaluator.get('type') for evaluator in evaluators]
    raise ValueError(f'test_evaluator has no DeepLesionMetric (it has {types})')


def rescore_predictions(
    predictions: Sequence[Mapping],
    data_infos: Iterable[Mapping],
    classes: Sequence[str] = ('lesion',),
    **metric_kwargs,
) -> RescoredPredictions:
    """Score dumped predictions against the ground truth of the dataset they were made on.

    Args:
        predictions: dumped data samples, each with ``img_path`` and ``pred_instances``
            (``bboxes``, ``scores``, ``labels``; tensors or arrays) in original image pixels.
        data_infos: the dataset's items (``DeepLesionDataset.get_data_info``): ``img_path``,
            ``instances`` (0-based ``bbox``, ``bbox_label``, ``ignore_flag``), ``lesion_types``,
            ``lesion_diameters_mm``, ``spacing_mm``, ``possibly_noisy``.
        classes: the dataset's classes (``dataset.metainfo['classes']``).
        **metric_kwargs: :class:`DeepLesionMetric` arguments (``protocol``, ``iou_thr``, ...).

    Returns:
        The metrics over the dataset items, in dataset order, with the predictions left out.

    Raises:
        ValueError: a dataset item has no prediction (the predictions were made on another
            split or dataset), or two predictions share an ``img_path``.
    """
    by_path: dict[str, Mapping] = {}
    for prediction in predictions:
        path = prediction['img_path']
        if path in by_path:
            raise ValueError(f'two predictions for one key slice: {path}')
        by_path[path] = prediction
    infos = list(data_infos)
    unpredicted = [info['img_path'] for info in infos if info['img_path'] not in by_path]
    if unpredicted:
        raise ValueError(
            f'{len(unpredicted)} of the {len(infos)} key slices of the dataset have no '
            f"prediction, e.g. {unpredicted[0]}: were the predictions made on this config's "
            'test split and data root?'
        )
    in_dataset = {info['img_path'] for info in infos}
    left_out = tuple(path for path in by_path if path not in in_dataset)
    metric = DeepLesionMetric(**metric_kwargs)
    metric.dataset_meta = {'classes': tuple(classes)}
    metric.process({}, [_sample(by_path[info['img_path']], info) for info in infos])
    metrics = metric.evaluate(len(infos))
    return RescoredPredictions(metrics=metrics, num_images=len(infos), left_out=left_out)
