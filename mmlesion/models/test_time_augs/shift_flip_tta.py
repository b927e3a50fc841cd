"""Test-time augmentation over flipped and shifted views, merged as mmdet merges flips."""

from __future__ import annotations

from mmdet.models.test_time_augs import DetTTAModel
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from torch import Tensor


def unshift_bboxes(
    bboxes: Tensor,
    shift_px: tuple[int, int],
    scale_factor: tuple[float, float] = (1.0, 1.0),
    ori_shape: tuple[int, int] | None = None,
) -> Tensor:
    """Boxes ``(N, 4)`` x1y1x2y2 predicted on a view shifted by ``shift_px`` (``FixedShift``),
    in the original image's pixels, moved back to the original frame.

    Args:
        shift_px: ``(shift_x, shift_y)`` of the view, pixels of the model's input.
        scale_factor: the sample's ``(w_scale, h_scale)`` from original to input pixels.
        ori_shape: ``(H, W)`` of the original image; the boxes are clipped to it.
    """
    shift_x, shift_y = shift_px
    if shift_x == 0 and shift_y == 0:
        return bboxes
    offset = bboxes.new_tensor([shift_x / scale_factor[0], shift_y / scale_factor[1]] * 2)
    out = bboxes - offset
    if ori_shape is not None:
        out[:, 0::2] = out[:, 0::2].clamp(0, ori_shape[1])
        out[:, 1::2] = out[:, 1::2].clamp(0, ori_shape[0])
    return out


def is_reference_view(metainfo: dict) -> bool:
    """Whether a view is the slice as it is: not flipped, not shifted."""
    return not metainfo.get('flip', False) and tuple(metainfo.get('shift_px', (0, 0))) == (0, 0)


@MODELS.register_module()
class ShiftFlipTTAModel(DetTTAModel):
    """mmdet's ``DetTTAModel`` that also undoes ``FixedShift``: each view's boxes are shifted
    back (:func:`unshift_bboxes`), then unflipped, then merged by one NMS over all views, as
    ``DetTTAModel`` merges flips.

    The merged sample is the reference view's (:func:`is_reference_view`) with the merged
    predictions: its ground truth is the slice's own, which ``DeepLesionMetric`` reads. The
    views must therefore include the slice as it is.

    Args:
        tta_cfg: ``nms`` (an mmcv NMS config, e.g. ``dict(type='nms', iou_threshold=0.5)``) and
            ``max_per_img``, as ``DetTTAModel``'s. With the detector's own test NMS and a
            single reference view, the detections are the detector's.
        **kwargs: ``module`` (the detector) and ``data_preprocessor``, as ``BaseTTAModel``'s.
    """

    def __init__(self, tta_cfg: dict, **kwargs) -> None:
        missing = [key for key in ('nms', 'max_per_img') if key not in tta_cfg]
        if missing:
            raise ValueError(f'ShiftFlipTTAModel: tta_cfg lacks {missing}, got {tta_cfg}')
        super().__init__(tta_cfg=ConfigDict(tta_cfg), **kwargs)

    def merge_aug_bboxes(
        self, aug_bboxes: list[Tensor], aug_scores: list[Tensor] | None, img_metas: list[dict]
    ) -> tuple[Tensor, Tensor] | Tensor:
        unshifted = [
            unshift_bboxes(
                bboxes,
                meta.get('shift_px', (0, 0)),
                meta.get('scale_factor', (1.0, 1.0)),
                meta['ori_shape'],
            )
            for bboxes, meta in zip(aug_bboxes, img_metas, strict=True)
        ]
        return super().merge_aug_bboxes(unshifted, aug_scores, img_metas)

    def _merge_single_sample(self, data_samples: list[DetDataSample]) -> DetDataSample:
        reference = next(
            (i for i, sample in enumerate(data_samples) if is_reference_view(sample.metainfo)),
            None,
        )
        if reference is None:
            raise ValueError(
                'ShiftFlipTTAModel: no view of '
                f'{data_samples[0].metainfo.get("img_path", "this slice")} is the slice as it is '
                '(flip False, shift_px (0, 0)); the tta_pipeline must include it'
            )
        ordered = [
            data_samples[reference],
            *data_samples[:reference],
            *data_samples[reference + 1 :],
        ]
        return super()._merge_single_sample(ordered)
