"""Test-time augmentation: FixedShift, ShiftFlipTTAModel and ``tools/test.py --tta``'s config."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import DEMO_CONFIGS, data_options, tiny_detector_config
from mmdet.registry import MODELS, TRANSFORMS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.structures import InstanceData
from torch import nn

from mmlesion.datasets.transforms import FixedShift
from mmlesion.models import ShiftFlipTTAModel
from mmlesion.models.test_time_augs import unshift_bboxes
from mmlesion.utils import checkpoint_loading, prepare_test_config, register_all_modules
from mmlesion.utils.run_config import TTA_FLIPS, TTA_SHIFTS_PX, default_tta_pipeline
from mmlesion.utils.safe_pickle import load_predictions

register_all_modules()
DETECTOR = str(DEMO_CONFIGS / 'faster_rcnn_r18-w32_fpn_48e_synth.py')
HEIGHT, WIDTH = 40, 50
#: Lesion boxes away from the frame's edges (a shift of a few pixels keeps them inside).
META_KEYS = ('ori_shape', 'img_shape', 'scale_factor', 'flip', 'flip_direction', 'shift_px')
BOXES = np.array([[10.0, 8.0, 22.5, 19.25], [30.5, 20.0, 41.0, 33.0]], dtype=np.float32)


def slice_results() -> dict:
    """What the test pipeline holds before packing: a (H, W, 3) image and its lesion boxes."""
    image = np.arange(HEIGHT * WIDTH * 3, dtype=np.float32).reshape(HEIGHT, WIDTH, 3)
    return {
        'img': image,
        'img_shape': (HEIGHT, WIDTH),
        'ori_shape': (HEIGHT, WIDTH),
        'scale_factor': (1.0, 1.0),
        'gt_bboxes': HorizontalBoxes(BOXES.copy()),
        'gt_bboxes_labels': np.zeros(len(BOXES), dtype=np.int64),
        'gt_ignore_flags': np.zeros(len(BOXES), dtype=bool),
    }


def test_fixed_shift_moves_the_content_and_its_boxes_and_records_the_shift():
    results = FixedShift(shift_x=3, shift_y=-2)(slice_results())
    original = slice_results()['img']
    # Content at (y, x) moves to (y - 2, x + 3); the columns that come in copy the left edge.
    np.testing.assert_array_equal(results['img'][5:-2, 3:], original[7:, :-3])
    np.testing.assert_array_equal(results['img'][:, :3], np.repeat(results['img'][:, 3:4], 3, 1))
    np.testing.assert_array_equal(results['img'][-2:], np.repeat(results['img'][-3:-2], 2, 0))
    assert results['img'].shape == original.shape and results['img'].dtype == original.dtype
    np.testing.assert_array_equal(results['gt_bboxes'].numpy(), BOXES + np.array([3, -2, 3, -2]))
    assert results['shift_px'] == (3, -2)
    assert FixedShift()(slice_results())['shift_px'] == (0, 0)


def test_fixed_shift_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match='whole pixels'):
        FixedShift(shift_x=1.5)
    with pytest.raises(ValueError, match=f'whole {HEIGHT}x{WIDTH} image out of its frame'):
        FixedShift(shift_x=WIDTH)(slice_results())


@pytest.mark.parametrize('shift', [(3, 3), (-3, -3), (4, -1)])
def test_shift_then_shift_back_returns_the_boxes(shift):
    shifted = FixedShift(*shift)(slice_results())
    back = unshift_bboxes(
        shifted['gt_bboxes'].tensor, shifted['shift_px'], ori_shape=(HEIGHT, WIDTH)
    )
    # Box coordinates here are multiples of 1/4: float32 adds and subtracts whole pixels exactly.
    assert torch.equal(back, torch.from_numpy(BOXES))


def test_shift_back_divides_by_the_scale_and_clips_to_the_original_frame():
    boxes = torch.tensor([[1.0, 2.0, 10.0, 12.0]])
    back = unshift_bboxes(boxes, (4, -6), scale_factor=(2.0, 3.0), ori_shape=(13, 30))
    assert back.tolist() == [[0.0, 4.0, 8.0, 13.0]]


class Views(nn.Module):
    """A stand-in detector for ShiftFlipTTAModel (it only needs ``test_step``)."""

    def test_step(self, data):
        return data['data_samples']


def view_samples(pipeline_views: list[list[dict]]) -> list[DetDataSample]:
    """Each view of ``slice_results`` made by ``pipeline_views``' transforms, with its own
    (moved) ground truth as the predictions a perfect detector would make on it."""
    samples = []
    for view in pipeline_views:
        results = slice_results()
        for step in view:
            results = TRANSFORMS.build(step)(results)
        sample = DetDataSample(metainfo={k: results[k] for k in META_KEYS if k in results})
        sample.gt_instances = InstanceData(
            bboxes=torch.from_numpy(BOXES), labels=torch.zeros(2, dtype=torch.long)
        )
        sample.pred_instances = InstanceData(
            bboxes=results['gt_bboxes'].tensor,
            scores=torch.tensor([0.9, 0.8]) - 0.01 * len(samples),
            labels=torch.zeros(2, dtype=torch.long),
        )
        samples.append(sample)
    return samples


def all_views() -> list[list[dict]]:
    """The flip and shift steps of each view of ``--tta``'s default pipeline."""
    (views,) = default_tta_pipeline([{'type': 'PackDetInputs'}], 'config.py')
    flip_views, shift_views, _ = views['transforms']
    return [[flip, shift] for flip in flip_views for shift in shift_views]


def tta_model(iou_threshold: float = 0.5) -> ShiftFlipTTAModel:
    nms = {'type': 'nms', 'iou_threshold': iou_threshold}
    return ShiftFlipTTAModel(module=Views(), tta_cfg={'nms': nms, 'max_per_img': 100})


def test_every_flipped_and_shifted_view_merges_back_onto_the_slice():
    views = all_views()
    assert len(views) == len(TTA_FLIPS) * len(TTA_SHIFTS_PX) > 2
    samples = view_samples(views)
    flipped = [s for s in samples if s.flip]
    assert flipped and all(s.flip_direction == 'horizontal' for s in flipped)
    assert not torch.allclose(flipped[0].pred_instances.bboxes, torch.from_numpy(BOXES))
    # With NMS at IoU 1.0 every view's boxes survive: each, moved back, is the slice's own.
    merged = tta_model(iou_threshold=1.0).merge_preds([samples])[0]
    distance = torch.cdist(merged.pred_instances.bboxes, torch.from_numpy(BOXES))
    assert distance.min(dim=1).values.max() < 1e-5
    assert distance.argmin(dim=1).bincount().tolist() == [len(views), len(views)]
    # mmdet's merge: one NMS over the views leaves each lesion once, at its best score.
    merged = tta_model().merge_preds([view_samples(views)])[0]
    assert torch.allclose(merged.pred_instances.bboxes, torch.from_numpy(BOXES), atol=1e-5)
    assert merged.pred_instances.scores.tolist() == pytest.approx([0.9, 0.8])


def test_the_merged_sample_is_the_slice_as_it_is_whatever_the_views_order():
    views = all_views()
    samples = view_samples(views[::-1])  # the reference view last
    merged = tta_model().merge_preds([samples])[0]
    assert not merged.flip and merged.shift_px == (0, 0)
    assert torch.equal(merged.gt_instances.bboxes, torch.from_numpy(BOXES))
    without_reference = view_samples(views[1:])
    with pytest.raises(ValueError, match=r'no view of .* is the slice as it is'):
        tta_model().merge_preds([without_reference])


def test_tta_model_names_a_missing_merge_setting():
    with pytest.raises(ValueError, match=r"tta_cfg lacks \['max_per_img'\]"):
        ShiftFlipTTAModel(module=Views(), tta_cfg={'nms': {'type': 'nms', 'iou_threshold': 0.5}})


# -- tools/test.py --tta -------------------------------------------------------------------------
def test_tta_config_wraps_the_detector_and_augments_the_test_pipeline_only():
    plain = prepare_test_config(DETECTOR, 'x.pth')
    cfg = prepare_test_config(DETECTOR, 'x.pth', tta=True)
    assert cfg.model.type == 'ShiftFlipTTAModel'
    assert cfg.model.module == plain.model
    # The detector's own final NMS merges the views: one view alone gives its detections.
    assert cfg.model.tta_cfg == {
        'nms': plain.model.test_cfg.rcnn.nms,
        'max_per_img': plain.model.test_cfg.rcnn.max_per_img,
    }
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert pipeline[:-1] == plain.test_dataloader.dataset.pipeline[:-1]
    views = pipeline[-1]
    assert views.type == 'TestTimeAug'
    flips, shifts, (pack,) = views.transforms
    assert [f['prob'] for f in flips] == [0.0, 1.0]
    assert [(s['shift_x'], s['shift_y']) for s in shifts] == list(TTA_SHIFTS_PX)
    assert shifts[0] == {'type': 'FixedShift', 'shift_x': 0, 'shift_y': 0}
    plain_pack = plain.test_dataloader.dataset.pipeline[-1]
    assert pack.meta_keys == (*plain_pack.meta_keys, 'shift_px')
    assert cfg.val_dataloader.dataset.pipeline == plain.val_dataloader.dataset.pipeline


def test_the_config_own_tta_fields_come_first(tmp_path):
    cfg = Config.fromfile(DETECTOR)
    cfg.tta_model = {'type': 'DetTTAModel', 'tta_cfg': {'nms': {'iou_threshold': 0.6}}}
    cfg.tta_pipeline = [{'type': 'LoadDeepLesionSlices'}]
    cfg.dump(str(tmp_path / 'own.py'))
    cfg = prepare_test_config(str(tmp_path / 'own.py'), 'x.pth', tta=True)
    assert cfg.model.type == 'DetTTAModel'
    assert cfg.model.tta_cfg.nms.iou_threshold == 0.6
    assert cfg.test_dataloader.dataset.pipeline == [{'type': 'LoadDeepLesionSlices'}]


def test_tta_says_what_the_config_lacks(tmp_path):
    cfg = Config.fromfile(DETECTOR)
    cfg.test_dataloader.dataset.pipeline = cfg.test_dataloader.dataset.pipeline[:-1]
    cfg.dump(str(tmp_path / 'no_pack.py'))
    with pytest.raises(ValueError, match=r'no_pack\.py: --tta needs a test pipeline ending'):
        prepare_test_config(str(tmp_path / 'no_pack.py'), 'x.pth', tta=True)
    cfg = Config.fromfile(DETECTOR)
    del cfg.model.test_cfg.rcnn.nms
    cfg.dump(str(tmp_path / 'no_nms.py'))
    with pytest.raises(ValueError, match=r'no_nms\.py: --tta found no nms'):
        prepare_test_config(str(tmp_path / 'no_nms.py'), 'x.pth', tta=True)


def test_a_detector_checkpoint_loads_strictly_into_the_tta_model(tmp_path):
    detector = MODELS.build(tiny_detector_config())
    torch.save({'state_dict': detector.state_dict()}, tmp_path / 'detector.pth')
    wrapped = tta_model()
    wrapped.module = MODELS.build(tiny_detector_config())
    checkpoint_loading.load_checkpoint_strictly(wrapped, str(tmp_path / 'detector.pth'))
    for name, value in detector.state_dict().items():
        assert torch.equal(wrapped.module.state_dict()[name], value)
    torch.save({'state_dict': wrapped.state_dict()}, tmp_path / 'wrapped.pth')
    # A checkpoint of the wrapper itself ('module.' keys) loads as well.
    checkpoint_loading.load_checkpoint_strictly(wrapped, str(tmp_path / 'wrapped.pth'))


def evaluate(config: str, checkpoint: str, work_dir, options: dict, tta: bool):
    """The test metrics and the dumped predictions (sorted by slice) of an in-process run."""
    out = str(work_dir / 'predictions.pkl')
    cfg = prepare_test_config(
        config, checkpoint, work_dir=str(work_dir), cfg_options=options, out=out, tta=tta
    )
    metrics = Runner.from_cfg(cfg).test()
    return metrics, sorted(load_predictions(out), key=lambda p: p['img_path'])


def test_one_view_gives_the_detector_own_detections(trained_detector, data_root, tmp_path):
    """Re-running the detector's own NMS (same threshold) over its own detections keeps them
    all: greedy NMS leaves no pair above the threshold. So a TTA of the slice alone is the
    detector, bit for bit."""
    options = {**data_options(data_root), 'model': tiny_detector_config().to_dict()}
    plain, plain_predictions = evaluate(
        DETECTOR, trained_detector, tmp_path / 'plain', options, False
    )
    cfg = Config.fromfile(DETECTOR)
    cfg.tta_pipeline = default_tta_pipeline(
        cfg.test_pipeline, DETECTOR, flips=(False,), shifts_px=((0, 0),)
    )
    cfg.dump(str(tmp_path / 'one_view.py'))
    one_view, tta_predictions = evaluate(
        str(tmp_path / 'one_view.py'), trained_detector, tmp_path / 'tta', options, True
    )
    assert one_view == plain
    assert sum(len(p['pred_instances']['scores']) for p in plain_predictions) > 0
    for ours, theirs in zip(tta_predictions, plain_predictions, strict=True):
        for key in ('bboxes', 'scores', 'labels'):
            assert torch.equal(ours['pred_instances'][key], theirs['pred_instances'][key])
