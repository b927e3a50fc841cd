from .deeplesion import DeepLesionDataset
from .dl_info import (
    COARSE_LESION_TYPES,
    DL_INFO_COLUMNS,
    HU_OFFSET,
    SPLIT_CODES,
    DLInfoError,
    LesionRow,
    read_dl_info,
    write_dl_info,
)
from .samplers import RandomSubsetSampler
from .transforms import (
    FixedShift,
    HUWindow,
    LoadDeepLesionSlices,
    LocalContrastWindow,
    RandomGLCAE,
    RandomLesionCrop,
    RescaleToSpacing,
    read_deeplesion_png,
)

__all__ = [
    'COARSE_LESION_TYPES',
    'DL_INFO_COLUMNS',
    'HU_OFFSET',
    'SPLIT_CODES',
    'DLInfoError',
    'DeepLesionDataset',
    'FixedShift',
    'HUWindow',
    'LesionRow',
    'LoadDeepLesionSlices',
    'LocalContrastWindow',
    'RandomGLCAE',
    'RandomLesionCrop',
    'RandomSubsetSampler',
    'RescaleToSpacing',
    'read_deeplesion_png',
    'read_dl_info',
    'write_dl_info',
]
