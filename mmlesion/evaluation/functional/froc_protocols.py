"""Named DeepLesion FROC protocols: the published evaluation codes' conventions, one preset each.

Published DeepLesion sensitivities come from evaluation code that differs in small ways that move
the numbers. Every preset shares the matching of :mod:`.froc` (detections of all images pooled and
sorted by score; a detection overlapping no lesion by ``>= 0.5`` IoU is a false positive; a lesion
is found by the first detection that overlaps it enough; a repeat hit counts as neither) and
differs in:

- **box size**: ``box_size_offset`` 0 measures a box as ``(x2 - x1) * (y2 - y1)`` (continuous
  coordinates, as pycocotools and mmdet 2.x/3.x); 1 as ``(x2 - x1 + 1) * (y2 - y1 + 1)``, boxes
  of inclusive pixel indices (the intersection gets the ``+ 1`` too);
- **reading the curve** (``reading``), whose points are (false positives per image,
  sensitivity) after each detection. A false positive moves the curve right, a found lesion
  up, never both, so between two FP rates it is flat and at an FP rate it reaches it rises
  vertically through the lesions found between two false positives:

  - ``'step_top'``: the curve starts at (0, 0); at a reached rate the *top* of the rise is
    taken (the sensitivity with at most that many false positives per image); above the last
    point: NaN (never reached).
  - ``'interp1d_extrapolate'``: the reference codes' ``scipy.interpolate.interp1d`` over the
    points without an origin: at a reached rate it gives the *bottom* of the rise (the first
    point at that rate). Below the first point it gives 0 (only a false positive can start
    the curve right of 0). Above the last point it extends the last segment: flat, i.e. the
    last sensitivity, when the last detection is a false positive; when it is not, the last
    segment is vertical, scipy returns inf or NaN, and so the preset gives NaN.
  - ``'interp1d_hold'``: as ``'interp1d_extrapolate'`` up to the last point, then held at the
    last sensitivity.
  - ``'interp1d_truncate'``: as ``'interp1d_extrapolate'`` up to the last point; rates above it
    are not reported (NaN).

  Where scipy's formula would divide by zero at the curve's first point (a rate equal to the
  first point's, which the next point shares) the first point's value is taken.
- **the FP rates** reported and averaged into ``avg_sens``;
- **noisy rows**: whether ``DL_info.csv`` rows flagged ``Possibly_noisy`` are removed from the
  evaluated set (and key slices left without a lesion with them) -- what
  ``DeepLesionDataset(noisy_lesions='drop')`` does. A function of boxes cannot see those flags;
  :class:`~mmlesion.evaluation.DeepLesionMetric` checks them.

Two things no preset reproduces: equal scores are ordered stably (image by image, then within an
image), where the references' ``np.argsort(scores)[::-1]`` leaves ties in an unspecified order;
and ignore regions (which the references do not have) stay neither hit nor miss.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._inputs import check_fp_rates, check_offset

#: False positives per image at which the DeepLesion literature reports sensitivity.
DEEPLESION_FPS: tuple[float, ...] = (0.5, 1, 2, 4, 8, 16)
#: The rates averaged into the literature's "average sensitivity".
DEEPLESION_AVG_FPS: tuple[float, ...] = (0.5, 1, 2, 4)

READINGS: tuple[str, ...] = (
    'step_top',
    'interp1d_extrapolate',
    'interp1d_hold',
    'interp1d_truncate',
)


@dataclass(frozen=True)
class FROCProtocol:
    """One DeepLesion FROC convention (see the module docstring for each field's options)."""

    name: str
    #: The evaluation file the preset follows.
    reference: str
    #: 0: continuous boxes; 1: boxes of inclusive pixel indices (``+ 1`` on every side length).
    box_size_offset: float
    #: How sensitivities are read off the curve, one of :data:`READINGS`.
    reading: str
    #: FP rates reported (``sens@<rate>``).
    fps: tuple[float, ...]
    #: FP rates averaged into ``avg_sens``.
    avg_sens_fps: tuple[float, ...]
    #: The references remove ``Possibly_noisy`` rows (and key slices left without a lesion).
    drop_noisy: bool


FROC_PROTOCOLS: dict[str, FROCProtocol] = {
    protocol.name: protocol
    for protocol in (
        FROCProtocol(
            name='mmlesion',
            reference='mmlesion/evaluation/functional/froc.py (this package)',
            box_size_offset=0.0,
            reading='step_top',
            fps=DEEPLESION_FPS,
            avg_sens_fps=DEEPLESION_AVG_FPS,
            drop_noisy=False,
        ),
        FROCProtocol(
            name='3dce',
            reference='rsummers11/CADLab lesion_detector_3DCE/rcnn/utils/evaluation.py '
            '(noisy rows: rcnn/utils/load_data.py filter_roidb, called by rcnn/tools/test.py)',
            box_size_offset=1.0,
            reading='interp1d_extrapolate',
            fps=DEEPLESION_FPS,
            avg_sens_fps=DEEPLESION_AVG_FPS,
            drop_noisy=True,
        ),
        FROCProtocol(
            name='mulan',
            reference='rsummers11/CADLab MULAN_universal_lesion_analysis/maskrcnn/data/datasets/'
            'evaluation/DeepLesion/detection_eval.py (noisy rows: maskrcnn/data/datasets/'
            'DeepLesion.py load_split_index); AlignShift/A3D: M3DV/AlignShift '
            'experiments/evaluation/evaluation_metrics.py',
            box_size_offset=1.0,
            reading='interp1d_hold',
            fps=DEEPLESION_FPS,
            avg_sens_fps=DEEPLESION_AVG_FPS,
            drop_noisy=True,
        ),
        FROCProtocol(
            name='mp3d',
            reference='urmagicsmine/MP3D mmdet/datasets/lesion.py (LesionDataset.sens_at_FP, '
            'FROC, IOU; its "Mean FROC" averages the six rates)',
            box_size_offset=0.0,
            reading='interp1d_truncate',
            fps=(0.5, 1, 2, 3, 4, 8),
            avg_sens_fps=(0.5, 1, 2, 3, 4, 8),
            drop_noisy=False,
        ),
    )
}


def get_froc_protocol(protocol: str | FROCProtocol) -> FROCProtocol:
    """The preset named ``protocol`` (one of :data:`FROC_PROTOCOLS`), or ``protocol`` itself
    once its fields are checked (a known reading, finite FP rates ``>= 0``, a finite box size
    offset ``>= 0``)."""
    if isinstance(protocol, FROCProtocol):
        if protocol.reading not in READINGS:
            raise ValueError(
                f'FROCProtocol.reading must be one of {READINGS}, got {protocol.reading!r}'
            )
        check_fp_rates(protocol.fps, 'FROCProtocol.fps')
        check_fp_rates(protocol.avg_sens_fps, 'FROCProtocol.avg_sens_fps')
        check_offset(protocol.box_size_offset, 'FROCProtocol.box_size_offset')
        return protocol
    if protocol not in FROC_PROTOCOLS:
        raise ValueError(f'protocol must be one of {tuple(FROC_PROTOCOLS)}, got {protocol!r}')
    return FROC_PROTOCOLS[protocol]
