"""Patients -> studies -> series -> key slices -> lesions: what will be rendered, not how.

A patient carries one to three lesion *clusters* (a key level with one to three lesions on it).
Each study (a follow-up visit) re-images most clusters with the lesions grown or shrunk; the
clusters of a study that lie within a few centimetres share a series, the others get their own.
Every series draws its scanner settings: slice interval, field of view, table offset, acquisition
profile and DICOM window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .acquisition import AcquisitionProfile, sample_profile
from .anatomy import Anatomy
from .config import SyntheticConfig
from .lesions import TYPE_WEIGHTS, Lesion, host_types, sample_delta_hu, sample_lesion
from .raster import SliceGrid
from .shapes import Ellipsoid

#: Slice intervals (mm) and their frequencies; DeepLesion is mostly 5, 2.5 and 1 mm.
SLICE_INTERVALS_MM: tuple[tuple[float, float], ...] = (
    (0.625, 0.05),
    (1.0, 0.2),
    (1.25, 0.05),
    (2.0, 0.1),
    (2.5, 0.15),
    (5.0, 0.45),
)
#: Clusters closer than this in z are imaged in one series.
SAME_SERIES_MM = 45.0
#: Smallest lesion, pixels: long and short diameter.
MIN_LONG_PX, MIN_SHORT_PX = 3.0, 2.0
#: Slice files are ``NNN.png``.
MAX_SLICE_INDEX = 999


@dataclass(frozen=True)
class LesionCluster:
    """Lesions sharing one key level ``z_mm`` of the patient."""

    z_mm: float
    lesions: tuple[Lesion, ...]


#: Lesions of at least this long diameter (mm) may have a rim (:class:`ImagedLesion`), with this
#: probability and this rim-to-host contrast relative to the core's (opposite sign).
RIM_MIN_DIAMETER_MM = 12.0
RIM_PROBABILITY = 0.6
RIM_CONTRAST = 0.6


@dataclass(frozen=True)
class ImagedLesion:
    """A lesion as imaged in one series.

    Attributes:
        ellipsoid: its shape in this series, centred on the key slice, mm.
        delta_hu: lesion minus host HU in this series.
        value_hu: the lesion's HU (host HU + ``delta_hu``).
        label: ``Coarse_lesion_type`` as written: the type, or -1 when unlabelled.
        possibly_noisy: the ``Possibly_noisy`` flag.
        rim_hu: HU of a rim around the core (``None``: a homogeneous lesion). Ring-enhancing and
            target lesions (necrotic metastases, abscesses) have a rim whose contrast is opposite
            to the core's: a bright ring around a dark core, or a dark halo around a bright one.
        core_fraction: the core's share of the lesion's diameter when it has a rim.
    """

    lesion: Lesion
    ellipsoid: Ellipsoid
    delta_hu: float
    value_hu: float
    label: int
    possibly_noisy: bool
    rim_hu: float | None = None
    core_fraction: float = 1.0


@dataclass(frozen=True)
class KeySlice:
    slice_index: int
    z_mm: float
    lesions: tuple[ImagedLesion, ...]


@dataclass(frozen=True)
class SeriesPlan:
    """One series folder ``<patient>_<study>_<series>`` and everything needed to render it."""

    patient_index: int
    study_index: int
    series_id: int
    grid: SliceGrid
    slice_interval_mm: float
    #: z (mm) of slice index 1 (the series' first slice, stored or not).
    first_slice_z_mm: float
    #: First and last stored slice index, inclusive.
    slice_range: tuple[int, int]
    key_slices: tuple[KeySlice, ...]
    profile: AcquisitionProfile
    age_years: float | None

    @property
    def folder(self) -> str:
        return f'{self.patient_index:06d}_{self.study_index:02d}_{self.series_id:02d}'

    def z_of(self, slice_index: int) -> float:
        """Position (mm) of ``slice_index`` along the body axis."""
        return self.first_slice_z_mm + (slice_index - 1) * self.slice_interval_mm

    @property
    def lesions(self) -> tuple[ImagedLesion, ...]:
        return tuple(lesion for key in self.key_slices for lesion in key.lesions)


@dataclass(frozen=True)
class PatientPlan:
    index: int
    gender: str
    split: str
    anatomy: Anatomy
    series: tuple[SeriesPlan, ...]


def _weighted_type(rng: np.random.Generator, allowed: list[int] | None = None) -> int:
    types = allowed if allowed is not None else list(TYPE_WEIGHTS)
    p = np.array([TYPE_WEIGHTS[t] for t in types])
    return int(types[int(rng.choice(len(types), p=p / p.sum()))])


def _overlaps(lesion: Lesion, others: list[Lesion]) -> bool:
    return any(
        math.hypot(lesion.cx - o.cx, lesion.cy - o.cy) < 0.6 * (lesion.long_mm + o.long_mm)
        for o in others
    )


def sample_clusters(
    rng: np.random.Generator, anatomy: Anatomy, first_type: int
) -> list[LesionCluster]:
    """One to three lesion clusters; the first has a lesion of ``first_type`` when it fits."""
    clusters: list[LesionCluster] = []
    for i in range(int(rng.choice([1, 2, 3], p=[0.55, 0.3, 0.15]))):
        lesion = None
        for attempt in range(20):
            coarse_type = first_type if i == 0 and attempt < 10 else _weighted_type(rng)
            z = None
            if clusters and rng.random() < 0.4:
                z = clusters[-1].z_mm + rng.choice([-1.0, 1.0]) * rng.uniform(10.0, 35.0)
            lesion = sample_lesion(rng, anatomy, coarse_type, z)
            if lesion is not None:
                break
        if lesion is None:
            continue
        lesions = [lesion]
        for _ in range(int(rng.choice([0, 1, 2], p=[0.8, 0.15, 0.05]))):
            u = lesion.cz / anatomy.length_mm
            same = rng.random() < 0.6
            extra_type = lesion.coarse_type if same else _weighted_type(rng, host_types(u))
            extra = sample_lesion(rng, anatomy, extra_type, lesion.cz)
            if extra is not None and not _overlaps(extra, lesions):
                lesions.append(extra)
        clusters.append(LesionCluster(lesion.cz, tuple(lesions)))
    return clusters


def _group_by_level(clusters: list[LesionCluster]) -> list[list[LesionCluster]]:
    groups: list[list[LesionCluster]] = []
    for cluster in sorted(clusters, key=lambda c: c.z_mm):
        if groups and cluster.z_mm - groups[-1][-1].z_mm <= SAME_SERIES_MM:
            groups[-1].append(cluster)
        else:
            groups.append([cluster])
    return groups


def _image_lesion(
    rng: np.random.Generator,
    lesion: Lesion,
    z_key: float,
    spacing_mm: float,
    anatomy: Anatomy,
    profile: AcquisitionProfile,
    config: SyntheticConfig,
    split: str,
) -> ImagedLesion:
    scale = rng.uniform(0.75, 1.25)
    scale = max(
        scale,
        MIN_LONG_PX * spacing_mm / lesion.long_mm,
        MIN_SHORT_PX * spacing_mm / lesion.short_mm,
    )
    host_hu = lesion.host_hu(anatomy, profile.phase)
    delta = round(sample_delta_hu(rng, lesion, host_hu, profile.low_contrast), 1)
    unlabelled = rng.random() < config.unlabelled_fraction or (
        config.real_style_unlabelled_train and split == 'train'
    )
    possibly_noisy = bool(rng.random() < config.possibly_noisy_fraction)
    has_rim = lesion.long_mm * scale >= RIM_MIN_DIAMETER_MM and rng.random() < RIM_PROBABILITY
    return ImagedLesion(
        lesion=lesion,
        ellipsoid=lesion.ellipsoid(z_key, scale),
        delta_hu=delta,
        value_hu=host_hu + delta,
        label=-1 if unlabelled else lesion.coarse_type,
        possibly_noisy=possibly_noisy,
        rim_hu=host_hu - RIM_CONTRAST * delta if has_rim else None,
        core_fraction=float(rng.uniform(0.5, 0.75)) if has_rim else 1.0,
    )


def plan_series(
    rng: np.random.Generator,
    anatomy: Anatomy,
    clusters: list[LesionCluster],
    ids: tuple[int, int, int],
    age_years: float | None,
    config: SyntheticConfig,
    split: str,
) -> SeriesPlan:
    """Scanner settings and key slices of one series imaging ``clusters`` (close in z)."""
    patient_index, study_index, series_id = ids
    length = anatomy.length_mm
    intervals = [dz for dz, _ in SLICE_INTERVALS_MM]
    p = np.array([w for _, w in SLICE_INTERVALS_MM])
    dz = float(intervals[int(rng.choice(len(intervals), p=p / p.sum()))])
    chest = min(c.z_mm for c in clusters) / length < 0.4
    profile = sample_profile(rng, config.difficulty, 'chest' if chest else 'abdomen')

    frame = anatomy.frame
    half_width = max(lv.body_a for lv in frame.levels)
    half_depth = max(lv.body_b for lv in frame.levels)
    fov = float(np.clip(2.0 * half_width * rng.uniform(1.08, 1.3), 300.0, 500.0))
    spacing = float(f'{fov / config.image_size:.6g}')
    fov = spacing * config.image_size
    slack_x = max(0.0, 0.48 * fov - half_width)
    slack_y = max(0.0, 0.48 * fov - half_depth)
    centre = (rng.uniform(-1.0, 1.0) * slack_x, rng.uniform(-0.3, 1.0) * slack_y)
    grid = SliceGrid(config.image_size, spacing, centre)

    side = max(config.min_slices_per_side, math.ceil(config.context_mm / dz - 1e-9))
    scan_start_u = rng.uniform(-0.02, 0.04) if chest else rng.uniform(0.3, 0.37)
    first_z = min(scan_start_u * length, min(c.z_mm for c in clusters))
    # Slice files are named with three digits: thin-slice scans start closer to the lesions.
    first_z = max(first_z, max(c.z_mm for c in clusters) - (MAX_SLICE_INDEX - side - 2) * dz)
    by_index: dict[int, list[Lesion]] = {}
    for cluster in clusters:
        index = round((cluster.z_mm - first_z) / dz) + 1
        by_index.setdefault(index, []).extend(cluster.lesions)
    key_slices = []
    for index in sorted(by_index):
        z_key = first_z + (index - 1) * dz
        imaged = tuple(
            _image_lesion(rng, lesion, z_key, spacing, anatomy, profile, config, split)
            for lesion in by_index[index]
        )
        key_slices.append(KeySlice(index, z_key, imaged))
    first = max(1, key_slices[0].slice_index - side)
    last = key_slices[-1].slice_index + side
    return SeriesPlan(
        patient_index=patient_index,
        study_index=study_index,
        series_id=series_id,
        grid=grid,
        slice_interval_mm=dz,
        first_slice_z_mm=first_z,
        slice_range=(first, last),
        key_slices=tuple(key_slices),
        profile=profile,
        age_years=age_years,
    )


def plan_patient(
    rng: np.random.Generator,
    anatomy: Anatomy,
    patient_index: int,
    gender: str,
    age_years: float | None,
    split: str,
    config: SyntheticConfig,
) -> PatientPlan:
    """All studies and series of one patient.

    The first cluster's type cycles through the eight coarse types with the patient index, so
    every type occurs once there are eight patients.
    """
    first_type = (patient_index - 1) % len(TYPE_WEIGHTS) + 1
    clusters = sample_clusters(rng, anatomy, first_type)
    series: list[SeriesPlan] = []
    age = age_years
    for study_index in range(1, int(rng.choice([1, 2, 3], p=[0.45, 0.35, 0.2])) + 1):
        imaged = [c for c in clusters if rng.random() < 0.85]
        if not imaged and clusters:
            imaged = [clusters[int(rng.integers(len(clusters)))]]
        series_id = int(rng.integers(1, 4))
        for group in _group_by_level(imaged):
            ids = (patient_index, study_index, series_id)
            series.append(plan_series(rng, anatomy, group, ids, age, config, split))
            series_id += int(rng.integers(1, 3))
        if age is not None:
            age = age + float(rng.choice([0.0, 1.0], p=[0.6, 0.4]))
    return PatientPlan(patient_index, gender, split, anatomy, tuple(series))
