"""Test predictions drawn on the slices the model saw (``tools/test.py --show-dir / --show``)."""

from __future__ import annotations

import os.path as osp
from pathlib import Path

import cv2
import numpy as np
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from mmlesion.visualization.box_overlay import draw_on_channels, write_png


def _numpy(value) -> np.ndarray:
    value = getattr(value, 'tensor', value)  # mmdet's HorizontalBoxes
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _boxes(instances) -> np.ndarray:
    if instances is None or 'bboxes' not in instances:
        return np.zeros((0, 4))
    return _numpy(instances.bboxes).astype(np.float64).reshape(-1, 4)


@HOOKS.register_module()
class LesionVisualizationHook(Hook):
    """Draw each test sample's detections and ground truth on its input channels; save the
    pictures and/or show them (mmdet's ``DetVisualizationHook`` in test mode, for CT input).

    The picture holds the model's input channels (HU windows or neighbouring slices, before any
    learned enhancement) side by side, resampled back to the original slice's pixels, where
    predictions and ground truth are: lesions green, ignore regions yellow, detections scoring
    ``>= score_thr`` red with their scores. mmdet's own hook reads the image file again, which
    for DeepLesion's 16-bit HU PNGs gives a gray field.

    Args:
        test_out_dir: save a PNG per sample here, named after its ``img_id`` (the DeepLesion
            ``File_name``); a relative folder lies in the run's log folder
            (``<work_dir>/<timestamp>/``), as in mmdet. None: save nothing.
        show: show each picture in a window (needs a display).
        wait_time: seconds each shown picture stays; 0 waits for a key.
        score_thr: lowest score of a drawn detection.
    """

    priority = 'NORMAL'

    def __init__(
        self,
        test_out_dir: str | None = None,
        show: bool = False,
        wait_time: float = 2.0,
        score_thr: float = 0.3,
    ) -> None:
        if test_out_dir is None and not show:
            raise ValueError('LesionVisualizationHook needs test_out_dir or show=True')
        self.test_out_dir = test_out_dir
        self.show = show
        self.wait_time = wait_time
        self.score_thr = score_thr
        self._out_dir: Path | None = None

    def before_test(self, runner) -> None:
        if self.test_out_dir is not None:
            self._out_dir = Path(osp.join(runner.log_dir, self.test_out_dir))
            runner.logger.info(f'LesionVisualizationHook: test pictures go to {self._out_dir}')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        for image, sample in zip(data_batch['inputs'], outputs, strict=True):
            canvas = self.draw(_numpy(image), sample)
            name = sample.metainfo.get('img_id') or osp.basename(sample.metainfo['img_path'])
            if self._out_dir is not None:
                write_png(self._out_dir / (Path(str(name)).stem + '.png'), canvas)
            if self.show:
                cv2.imshow('mmlesion test', canvas)
                cv2.waitKey(max(1, int(self.wait_time * 1000)) if self.wait_time > 0 else 0)

    def draw(self, image: np.ndarray, sample) -> np.ndarray:
        """The picture of one sample.

        Args:
            image: ``(C, H, W)`` input of the model in [0, 255], at ``img_shape``.
            sample: its ``DetDataSample`` with ``pred_instances`` and ``gt_instances`` in the
                original pixels (``ori_shape``).

        Returns:
            ``(H0, C * W0 + gaps, 3)`` uint8 BGR picture at the original ``(H0, W0)``.
        """
        height, width = sample.metainfo.get('ori_shape', image.shape[1:])
        channels = np.clip(np.round(image.astype(np.float64)), 0, 255).astype(np.uint8)
        if channels.shape[1:] != (height, width):
            channels = np.stack(
                [cv2.resize(c, (width, height), interpolation=cv2.INTER_LINEAR) for c in channels]
            )
        pred = sample.get('pred_instances')
        keep = _numpy(pred.scores) >= self.score_thr if pred is not None else None
        return draw_on_channels(
            channels,
            _boxes(sample.get('gt_instances')),
            _boxes(sample.get('ignored_instances')),
            pred_boxes=None if pred is None else _boxes(pred)[keep],
            pred_scores=None if pred is None else _numpy(pred.scores)[keep],
        )
