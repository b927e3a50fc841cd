"""``predictions.json``: what :class:`~.lesion_inferencer.LesionInferencer` writes, one document.

The schema is ``docs/en/predictions.schema.json`` (JSON Schema draft 2020-12), described field
by field in ``docs/en/inference.md``. By default the document names no input file or folder:
a slice is identified by its input's position on the command line and its index in that input
(``input_index``, ``slice_index``, and the opaque ``id`` built from them), since file and folder
names of clinical data often carry a patient's name. ``record_paths=True`` adds them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Raised when a field changes meaning or is removed; readers check it.
SCHEMA_VERSION = 1
#: The research-use notice, also in every ``predictions.json``.
RESEARCH_NOTICE = (
    'Research use only. Not a medical device, not cleared or approved for clinical use; the '
    'detections must not be used for diagnosis or treatment decisions.'
)
#: What a box is, stated in every ``predictions.json``.
BOX_CONVENTION = (
    'bbox_px = [x1, y1, x2, y2]: 0-based pixel coordinates of the slice as read (x to the right '
    '= increasing column, y down = increasing row), continuous as in mmdet: the pixel of column '
    'c spans [c, c + 1), so x2 is exclusive and the width is x2 - x1.'
)


def slice_id(input_index: int, slice_index: int) -> str:
    """The opaque id of a slice, made only of its positions: ``'i<input>_s<slice>'``.

    Also the stem of its PNG when no paths are recorded.
    """
    return f'i{input_index}_s{slice_index:03d}'


def strict_json(value: Any) -> Any:
    """``value`` with every NaN/Inf float as ``None`` and numpy scalars as Python ones:
    ``json.dumps(allow_nan=False)`` then writes strict JSON (``null``), which every JSON
    reader accepts."""
    if isinstance(value, Mapping):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def slice_record(result, image: str, record_paths: bool) -> dict:
    """One entry of ``slices``: a :class:`~.lesion_inferencer.SliceResult` as JSON values.

    Args:
        result: the slice's result.
        image: the file name of its PNG in the output folder.
        record_paths: also give the input's path (``source``) and the slice's file name.
    """
    record = {
        'id': slice_id(result.input_index, result.slice_index),
        'input_index': result.input_index,
        'slice_index': result.slice_index,
        'image': image,
        'spacing_mm': list(result.spacing_mm),
        'clahe_clip_limit': result.clahe_clip_limit,
        'clahe_grid_size': result.clahe_grid_size,
        'clahe_alpha': result.clahe_alpha,
        'window_level_offset_hu': result.window_level_offset_hu,
        'window_width_scale': result.window_width_scale,
        'denoise_strength': result.denoise_strength,
        'non_finite_voxels': result.non_finite_voxels,
        'detections': [
            {
                'bbox_px': list(d.bbox_px),
                'score': d.score,
                'label': d.label,
                'long_side_mm': d.long_side_mm,
                'short_side_mm': d.short_side_mm,
            }
            for d in result.detections
        ],
    }
    if record_paths:
        record.update(source=result.source, slice_name=result.slice_name)
    return record


def predictions_document(
    results: Sequence,
    images: Sequence[str],
    run_info: Mapping[str, Any] | None = None,
    record_paths: bool = False,
) -> dict:
    """The whole ``predictions.json`` document, strict JSON values (NaN as ``None``).

    Args:
        results: the :class:`~.lesion_inferencer.SliceResult` of every slice, in input order.
        images: the PNG file name of each result.
        run_info: ``model``, ``operating_point`` and ``warnings`` of the run
            (:meth:`~.lesion_inferencer.LesionInferencer.run_info`); None: unknown (empty).
        record_paths: also give each slice's input path and file name.
    """
    run_info = dict(run_info or {})
    document = {
        'schema_version': SCHEMA_VERSION,
        'notice': RESEARCH_NOTICE,
        'warnings': list(run_info.get('warnings', [])),
        'box_convention': BOX_CONVENTION,
        'model': run_info.get('model', {}),
        'operating_point': run_info.get('operating_point', {}),
        'paths_recorded': record_paths,
        'slices': [
            slice_record(result, image, record_paths)
            for result, image in zip(results, images, strict=True)
        ],
    }
    return strict_json(document)
