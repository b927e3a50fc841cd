"""A config's dataset as the model receives it: every input channel (HU window or neighbouring
slice) with the sample's ground-truth boxes, one PNG a key slice
(``tools/analysis_tools/browse_dataset.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from mmengine.config import Config

from .box_overlay import draw_on_channels, write_png

SPLITS = ('train', 'val', 'test')


def annotations_first(pipeline: Sequence[dict]) -> list[dict]:
    """``pipeline`` with ``LoadAnnotations`` moved to just after its first loading step.

    The test pipelines load the boxes after resampling, so that they stay in the original
    pixels the predictions are compared in; a browser must draw them on the resampled image,
    so here they go through every geometric transform with it.

    Raises:
        ValueError: the pipeline has no ``LoadAnnotations`` (nothing to draw).
    """
    steps = [dict(step) for step in pipeline]
    annotations = [s for s in steps if s.get('type') == 'LoadAnnotations']
    if not annotations:
        types = [s.get('type') for s in steps]
        raise ValueError(f'the pipeline has no LoadAnnotations to draw boxes from: {types}')
    steps = [s for s in steps if s.get('type') != 'LoadAnnotations']
    loading = next(
        (i for i, s in enumerate(steps) if str(s.get('type', '')).startswith('Load')), -1
    )
    steps.insert(loading + 1, annotations[0])
    return steps


def _boxes(instances) -> np.ndarray:
    if instances is None or 'bboxes' not in instances:
        return np.zeros((0, 4))
    boxes = instances.bboxes
    boxes = getattr(boxes, 'tensor', boxes)  # mmdet's HorizontalBoxes
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def render_packed_sample(packed: dict) -> np.ndarray:
    """One ``PackDetInputs`` output as a picture: its input channels side by side, each with the
    lesion boxes (green) and ignore regions (yellow) of its ``data_samples``.

    Args:
        packed: ``{'inputs': (C, H, W) tensor in [0, 255], 'data_samples': DetDataSample}``
            whose ``gt_instances`` / ``ignored_instances`` boxes are in the same pixels.

    Returns:
        ``(H, C * W + gaps, 3)`` uint8 BGR image.
    """
    inputs = np.asarray(
        packed['inputs'].detach().cpu() if hasattr(packed['inputs'], 'detach') else packed['inputs']
    )
    image = np.clip(np.round(inputs.astype(np.float64)), 0, 255).astype(np.uint8)
    sample = packed['data_samples']
    return draw_on_channels(
        image,
        _boxes(sample.get('gt_instances')),
        _boxes(sample.get('ignored_instances')),
    )


def browse_dataset(
    cfg: Config,
    output_dir: str | Path,
    split: str = 'train',
    max_images: int | None = None,
    progress: bool = True,
) -> list[Path]:
    """Write one PNG per sample of a config's dataset, through its pipeline, boxes drawn.

    Boxes are the dataset's 0-based pixel coordinates (``DL_info.csv``'s 1-based cells minus 1,
    :mod:`mmlesion.datasets.dl_info`), moved with the image by the pipeline's transforms
    (:func:`annotations_first`); each outline runs through the pixels
    :func:`~.box_overlay.box_pixels` rounds them to. Random transforms (flips, crops) draw anew
    on each call.

    Args:
        cfg: a loaded config with ``<split>_dataloader.dataset``.
        output_dir: the folder the PNGs go to, named after each key slice's ``img_id``.
        split: ``'train'``, ``'val'`` or ``'test'``: which dataloader's dataset and pipeline.
        max_images: write at most this many (the first ones, in dataset order).
        progress: show mmengine's progress bar.

    Returns:
        The written files, in dataset order.
    """
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    from mmengine.utils import ProgressBar

    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    loader = cfg.get(f'{split}_dataloader')
    if loader is None or loader.get('dataset') is None:
        raise ValueError(f'the config has no {split}_dataloader.dataset')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    dataset_cfg = loader.dataset.copy()
    dataset_cfg.pipeline = annotations_first(dataset_cfg.pipeline)
    dataset = DATASETS.build(dataset_cfg)
    count = len(dataset) if max_images is None else min(max_images, len(dataset))
    bar = ProgressBar(count) if progress else None
    written = []
    for index in range(count):
        packed = dataset[index]
        name = Path(str(packed['data_samples'].img_id)).stem + '.png'
        written.append(write_png(Path(output_dir) / name, render_packed_sample(packed)))
        if bar is not None:
            bar.update()
    return written
