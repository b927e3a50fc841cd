"""Generate a synthetic DeepLesion data set in the real on-disk format.

Layout under the output folder, as in the NIH release::

    DL_info.csv                                  18 columns, one row per lesion
    Images_png/<patient>_<study>_<series>/NNN.png every slice of each series' Slice_range
    synthetic_acquisition.csv                    extra: acquisition of each key slice
    synthetic_site.json                          extra: the acquisition site and its parameters

Each patient draws from ``numpy.random.default_rng((seed, patient_index, *site_key, ...))``, so
output is byte-identical for a seed whatever the order (or number of worker processes) patients
run in, and another site (:mod:`.sites`) has other patients.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import shutil
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..dl_info import LesionRow, write_dl_info
from .anatomy import Anatomy, sample_anatomy
from .config import SyntheticConfig
from .planning import KeySlice, PatientPlan, SeriesPlan, plan_patient
from .png_io import write_slice_png
from .recist import box_margin_px, measure_recist, recist_box
from .series import render_series
from .sidecar import SIDECAR_NAME, AcquisitionRecord, write_acquisition_sidecar
from .sites import SITE_RECORD_NAME, SITES, site_draws_seed, write_site_record
from .summary import GenerationSummary, summarize
from .tissues import OUTSIDE_BODY, Phase

DL_INFO_NAME = 'DL_info.csv'
IMAGES_DIR = 'Images_png'
#: Train/val/test shares of the patients.
SPLIT_SHARES: tuple[float, float, float] = (0.7, 0.15, 0.15)
_OUTSIDE = np.array(sorted(int(t) for t in OUTSIDE_BODY))

#: ``progress(iterable, total)`` wraps the per-patient results (e.g. with tqdm).
Progress = Callable[[Iterable['PatientOutput'], int], Iterable['PatientOutput']]


@dataclass(frozen=True)
class PatientOutput:
    """Rows, key-slice acquisitions, the number of slice files and the site's noise multiplier
    of one patient."""

    patient_index: int
    split: str
    rows: tuple[LesionRow, ...]
    acquisitions: tuple[AcquisitionRecord, ...]
    num_slices: int
    noise_multiplier: float = 1.0


def assign_splits(num_patients: int, seed: int, site: str = 'a') -> dict[int, str]:
    """Patient index (1-based) to ``'train'``, ``'val'`` or ``'test'``, about 70/15/15.

    From three patients on every split has at least one; a patient is in exactly one split. Each
    site draws its own split.
    """
    order = np.random.default_rng([seed, 0, *SITES[site].stream_key]).permutation(num_patients)
    order += 1
    n_val = n_test = 0
    if num_patients >= 3:
        n_val = max(1, round(SPLIT_SHARES[1] * num_patients))
        n_test = max(1, round(SPLIT_SHARES[2] * num_patients))
    splits = {int(p): 'train' for p in order[: num_patients - n_val - n_test]}
    splits.update(
        {int(p): 'val' for p in order[num_patients - n_val - n_test : num_patients - n_test]}
    )
    splits.update({int(p): 'test' for p in order[num_patients - n_test :]})
    return splits


def _warn_empty_splits(num_patients: int, rows) -> None:
    """Warn when a split holds no lesion: training validates on ``val``, testing reads ``test``,
    and both would fail later with a less telling error."""
    empty = [s for s in ('train', 'val', 'test') if not any(r.split == s for r in rows)]
    if empty:
        warnings.warn(
            f'{num_patients} synthetic patient(s) leave the {"/".join(empty)} split(s) without '
            'any lesion, so training (which validates) or testing on them will fail; generate '
            'more patients (e.g. --num-patients 6)',
            UserWarning,
            stacklevel=3,
        )


def _normalized_location(
    labels: np.ndarray, x_px: float, y_px: float, z_mm: float, anatomy: Anatomy
) -> tuple[float, float, float]:
    """Lesion position relative to the body's bounding box on the slice, and along the torso."""
    body = ~np.isin(labels, _OUTSIDE)
    cols = np.flatnonzero(body.any(axis=0))
    rows = np.flatnonzero(body.any(axis=1))
    x = (x_px - cols[0]) / max(cols[-1] - cols[0], 1)
    y = (y_px - rows[0]) / max(rows[-1] - rows[0], 1)
    z = z_mm / anatomy.length_mm
    return tuple(round(float(np.clip(v, 0.0, 1.0)), 4) for v in (x, y, z))


def _key_slice_rows(
    series: SeriesPlan,
    key: KeySlice,
    labels: np.ndarray,
    anatomy: Anatomy,
    gender: str,
    split: str,
    rng: np.random.Generator,
) -> list[LesionRow]:
    grid = series.grid
    n = grid.size_px
    file_name = f'{series.folder}_{key.slice_index:03d}.png'
    rows = []
    for imaged in key.lesions:
        ellipse = imaged.ellipsoid.section(key.z_mm)
        error = 0.12 if imaged.possibly_noisy else 0.02
        recist, diameters = measure_recist(ellipse, grid, rng, error)
        cx, cy = grid.to_px(ellipse.cx, ellipse.cy)
        rows.append(
            LesionRow(
                file_name=file_name,
                patient_index=series.patient_index,
                study_index=series.study_index,
                series_id=series.series_id,
                key_slice_index=key.slice_index,
                recist_px=recist,
                bbox_px=recist_box(recist, n, box_margin_px(n)),
                diameters_px=diameters,
                normalized_location=_normalized_location(labels, cx, cy, key.z_mm, anatomy),
                coarse_type=imaged.label,
                possibly_noisy=imaged.possibly_noisy,
                slice_range=series.slice_range,
                spacing_mm=(grid.spacing_mm, grid.spacing_mm, series.slice_interval_mm),
                image_size=(n, n),
                dicom_window_hu=series.profile.window_hu,
                gender=gender,
                age_years=series.age_years,
                split=split,
            )
        )
    return rows


def _acquisition_record(series: SeriesPlan, key: KeySlice) -> AcquisitionRecord:
    profile = series.profile
    return AcquisitionRecord(
        file_name=f'{series.folder}_{key.slice_index:03d}.png',
        profile=profile.name,
        contrast_phase='unenhanced' if profile.phase == Phase.UNENHANCED else 'venous',
        noise_sigma_hu=profile.effective_noise_sigma_hu,
        shading_amplitude_hu=profile.shading_amplitude_hu,
        lesion_delta_hu=tuple(imaged.delta_hu for imaged in key.lesions),
        window_hu=profile.window_hu,
        slice_interval_mm=series.slice_interval_mm,
    )


@dataclass(frozen=True)
class AcquiredPatient:
    """One patient's plan with every series' profile as its site acquires it.

    Attributes:
        plan: studies and series; ``series[i].profile`` already carries the site's changes.
        noise_multiplier: the site's noise-std multiplier for this patient (1 at site A).
        stream: the patient's seed; series ``(study, series)`` render from
            ``(*stream, study, series, 1)`` and measure RECIST from ``(..., 2)``.
    """

    plan: PatientPlan
    noise_multiplier: float
    stream: tuple[int, ...]


def plan_acquired_patient(
    config: SyntheticConfig, patient_index: int, split: str
) -> AcquiredPatient:
    """Draw patient ``patient_index`` of ``config.site`` and plan its series (nothing rendered).

    The site's own draws come from a separate seed, so a site changes no anatomy or plan drawn
    from the patient's stream.
    """
    site = SITES[config.site]
    stream = (config.seed, patient_index, *site.stream_key)
    rng = np.random.default_rng(stream)
    gender = 'M' if rng.random() < 0.5 else 'F'
    age = float(int(np.clip(rng.normal(57.0, 15.0), 18.0, 90.0)))
    anatomy = sample_anatomy(rng, gender, age)
    known_age = None if rng.random() < 0.03 else age
    plan = plan_patient(rng, anatomy, patient_index, gender, known_age, split, config)
    noise_multiplier = site.patient_noise_multiplier(
        anatomy.frame, np.random.default_rng(site_draws_seed(stream))
    )
    series = tuple(
        dataclasses.replace(s, profile=site.acquire(s.profile, noise_multiplier))
        for s in plan.series
    )
    return AcquiredPatient(dataclasses.replace(plan, series=series), noise_multiplier, stream)


def generate_patient(
    out_dir: str | Path, config: SyntheticConfig, patient_index: int, split: str
) -> PatientOutput:
    """Render and write every series of one patient; returns its rows (not yet written)."""
    patient = plan_acquired_patient(config, patient_index, split)
    anatomy, gender = patient.plan.anatomy, patient.plan.gender
    rows: list[LesionRow] = []
    acquisitions: list[AcquisitionRecord] = []
    num_slices = 0
    for series in patient.plan.series:
        stream = (*patient.stream, series.study_index, series.series_id)
        render_rng = np.random.default_rng([*stream, 1])
        measure_rng = np.random.default_rng([*stream, 2])
        folder = Path(out_dir) / IMAGES_DIR / series.folder
        folder.mkdir(parents=True, exist_ok=True)
        keys = {key.slice_index: key for key in series.key_slices}
        for rendered in render_series(series, anatomy, render_rng):
            write_slice_png(folder / f'{rendered.slice_index:03d}.png', rendered.hu)
            num_slices += 1
            key = keys.get(rendered.slice_index)
            if key is not None:
                rows += _key_slice_rows(
                    series, key, rendered.labels, anatomy, gender, split, measure_rng
                )
                acquisitions.append(_acquisition_record(series, key))
    return PatientOutput(
        patient_index, split, tuple(rows), tuple(acquisitions), num_slices, patient.noise_multiplier
    )


def _generate_patient_task(args: tuple[Path, SyntheticConfig, int, str]) -> PatientOutput:
    return generate_patient(*args)


def _prepare_output(out: Path, overwrite: bool) -> None:
    """Make ``out`` ready; replace an earlier synthetic data set only when ``overwrite``.

    A folder holding a ``DL_info.csv`` or ``Images_png/`` but no sidecar is not ours (it may be
    the real release): it is never deleted.
    """
    targets = [out / DL_INFO_NAME, out / SIDECAR_NAME, out / SITE_RECORD_NAME, out / IMAGES_DIR]
    existing = [p for p in targets if p.exists()]
    if existing and not (out / SIDECAR_NAME).is_file():
        raise FileExistsError(
            f'{out} holds {existing[0].name} but no {SIDECAR_NAME}: not a synthetic data set, '
            'refusing to write into it'
        )
    if existing and not overwrite:
        raise FileExistsError(
            f'{out} already holds a synthetic data set; pass overwrite=True (--overwrite) to '
            'replace it'
        )
    for path in existing:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    (out / IMAGES_DIR).mkdir(parents=True)


def _init_worker() -> None:
    # One OpenCV thread per worker process: no oversubscription.
    cv2.setNumThreads(1)


def generate_dataset(
    out_dir: str | Path,
    config: SyntheticConfig,
    *,
    workers: int = 1,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> GenerationSummary:
    """Write a complete synthetic data set under ``out_dir`` and return what it holds.

    Args:
        out_dir: created if missing. An earlier synthetic data set there (``DL_info.csv``,
            ``Images_png/``, sidecar) is an error unless ``overwrite`` (then only those three are
            replaced); a folder with DeepLesion files but no sidecar is always an error.
        config: what to generate (``config.site`` is recorded in ``synthetic_site.json``).
        workers: processes rendering patients in parallel (output does not depend on it).
        progress: optional wrapper around the per-patient results, e.g.
            ``lambda it, total: tqdm(it, total=total)``.
    """
    start = time.perf_counter()
    out = Path(out_dir)
    _prepare_output(out, overwrite)
    splits = assign_splits(config.num_patients, config.seed, config.site)
    tasks = [(out, config, index, splits[index]) for index in range(1, config.num_patients + 1)]
    # 'spawn', not fork: a forked child inherits the parent's OpenMP/OpenCV thread pools (torch
    # is loaded by then) and can deadlock in them.
    executor = (
        ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context('spawn'), initializer=_init_worker
        )
        if workers > 1
        else None
    )
    try:
        results: Iterator[PatientOutput] = (
            executor.map(_generate_patient_task, tasks)
            if executor
            else map(_generate_patient_task, tasks)
        )
        outputs = list(progress(results, len(tasks)) if progress else results)
    finally:
        if executor:
            executor.shutdown()
    rows = [row for o in outputs for row in o.rows]
    acquisitions = [a for o in outputs for a in o.acquisitions]
    _warn_empty_splits(config.num_patients, rows)
    write_dl_info(out / DL_INFO_NAME, rows)
    write_acquisition_sidecar(out / SIDECAR_NAME, acquisitions)
    write_site_record(
        out / SITE_RECORD_NAME,
        SITES[config.site],
        config,
        {o.patient_index: o.noise_multiplier for o in outputs},
    )
    slices = Counter()
    for o in outputs:
        slices[o.split] += o.num_slices
    return summarize(
        str(out), rows, acquisitions, slices, time.perf_counter() - start, site=config.site
    )
