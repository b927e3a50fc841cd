from .gather_roi_align import GatherRoIAlign, gather_roi_align

__all__ = ['GatherRoIAlign', 'gather_roi_align']
