from .shift_flip_tta import ShiftFlipTTAModel, is_reference_view, unshift_bboxes

__all__ = ['ShiftFlipTTAModel', 'is_reference_view', 'unshift_bboxes']
