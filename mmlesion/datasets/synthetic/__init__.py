"""A synthetic DeepLesion: CT-like phantoms with lesions, written in the real on-disk format.

Entry points: :func:`generate_dataset` with a :class:`SyntheticConfig` (or the command line
``tools/dataset_converters/make_synthetic_deeplesion.py``), and
:func:`read_acquisition_sidecar` for the per-key-slice acquisition profiles it records, and
:func:`read_site` for the acquisition site (:data:`SITES`) a data set was made for.
"""

from .acquisition import DEGRADATIONS, AcquisitionProfile
from .config import SyntheticConfig
from .generator import assign_splits, generate_dataset
from .sidecar import SIDECAR_NAME, AcquisitionRecord, read_acquisition_sidecar
from .sites import SITE_RECORD_NAME, SITES, Site, read_site
from .summary import GenerationSummary

__all__ = [
    'DEGRADATIONS',
    'SIDECAR_NAME',
    'SITES',
    'SITE_RECORD_NAME',
    'AcquisitionProfile',
    'AcquisitionRecord',
    'GenerationSummary',
    'Site',
    'SyntheticConfig',
    'assign_splits',
    'generate_dataset',
    'read_acquisition_sidecar',
    'read_site',
]
