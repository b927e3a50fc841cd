"""Lesions of the eight DeepLesion coarse types, placed inside their host organs.

A :class:`Lesion` is an ellipsoid with a soft edge, fixed in the patient's body (so follow-up
studies image the same lesion). Each coarse type has host tissues at plausible body levels:
liver lesions in the liver, lung nodules in the lungs, bone lesions in cancellous bone,
lymph-node-like lesions in mediastinal, abdominal or pelvic fat, and so on. Long diameters are
log-uniform (many small lesions, a few large ones). A lesion's HU is its host's nominal HU plus
a signed contrast ``delta_hu`` drawn per series (see :func:`sample_delta_hu`), hypo- or hyperdense.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .anatomy import Anatomy, paint_anatomy
from .raster import Canvas, SliceGrid
from .shapes import Ellipsoid
from .tissues import Phase, Tissue

#: Coarse types (DeepLesion ``Coarse_lesion_type``).
BONE, ABDOMEN, MEDIASTINUM, LIVER, LUNG, KIDNEY, SOFT_TISSUE, PELVIS = range(1, 9)

#: Relative frequency of coarse types (DeepLesion's mix, rare types raised).
TYPE_WEIGHTS: dict[int, float] = {
    BONE: 0.07,
    ABDOMEN: 0.16,
    MEDIASTINUM: 0.15,
    LIVER: 0.16,
    LUNG: 0.18,
    KIDNEY: 0.08,
    SOFT_TISSUE: 0.10,
    PELVIS: 0.10,
}


@dataclass(frozen=True)
class Host:
    """Where a coarse type can grow: host tissues, torso range ``u`` and a choice weight.

    ``front_of_spine`` keeps the lesion anterior to the vertebral bodies (abdominal and pelvic
    lymph nodes lie in the visceral fat, not in the fat behind the sacrum).
    """

    tissues: frozenset[Tissue]
    u_range: tuple[float, float]
    weight: float = 1.0
    front_of_spine: bool = False


def _host(
    u0: float, u1: float, *tissues: Tissue, weight: float = 1.0, front_of_spine: bool = False
) -> Host:
    return Host(frozenset(tissues), (u0, u1), weight, front_of_spine)


HOSTS: dict[int, tuple[Host, ...]] = {
    BONE: (_host(0.05, 0.97, Tissue.CANCELLOUS_BONE),),
    ABDOMEN: (
        _host(0.47, 0.72, Tissue.VISCERAL_FAT, weight=0.5, front_of_spine=True),
        _host(0.40, 0.49, Tissue.SPLEEN, weight=0.25),
        _host(0.50, 0.53, Tissue.PANCREAS, weight=0.25),
    ),
    MEDIASTINUM: (_host(0.07, 0.38, Tissue.MEDIASTINAL_FAT),),
    LIVER: (_host(0.38, 0.57, Tissue.LIVER),),
    LUNG: (_host(0.05, 0.44, Tissue.LUNG),),
    KIDNEY: (_host(0.51, 0.64, Tissue.KIDNEY_CORTEX, Tissue.KIDNEY_MEDULLA),),
    SOFT_TISSUE: (
        _host(0.10, 0.95, Tissue.SUBCUTANEOUS_FAT, weight=0.5),
        _host(0.10, 0.95, Tissue.MUSCLE, weight=0.5),
    ),
    PELVIS: (
        _host(0.76, 0.97, Tissue.VISCERAL_FAT, weight=0.7, front_of_spine=True),
        _host(0.86, 0.97, Tissue.PELVIC_ORGAN, Tissue.BLADDER, weight=0.3),
    ),
}

#: Long-diameter range per coarse type, mm. DeepLesion's lesions are RECIST measurements, which
#: clinicians make on lesions of about 10 mm and more (RECIST 1.1 calls smaller ones
#: non-measurable), so the ranges start near 10 mm; lung nodules, measured smaller, from 5 mm.
DIAMETER_MM: dict[int, tuple[float, float]] = {
    BONE: (10.0, 40.0),
    ABDOMEN: (10.0, 60.0),
    MEDIASTINUM: (10.0, 50.0),
    LIVER: (8.0, 70.0),
    LUNG: (5.0, 40.0),
    KIDNEY: (8.0, 45.0),
    SOFT_TISSUE: (10.0, 60.0),
    PELVIS: (10.0, 60.0),
}

_FATS = (Tissue.VISCERAL_FAT, Tissue.MEDIASTINAL_FAT, Tissue.SUBCUTANEOUS_FAT)
#: Clean-scan contrast per host: probability of hypodensity and the |delta HU| range.
CONTRAST_HU: dict[Tissue, tuple[float, float, float]] = {
    Tissue.LIVER: (0.7, 15.0, 60.0),
    Tissue.LUNG: (0.0, 300.0, 880.0),
    Tissue.KIDNEY_CORTEX: (0.6, 30.0, 120.0),
    Tissue.KIDNEY_MEDULLA: (0.6, 30.0, 100.0),
    Tissue.CANCELLOUS_BONE: (0.5, 80.0, 220.0),
    Tissue.SPLEEN: (0.7, 20.0, 60.0),
    Tissue.PANCREAS: (0.7, 15.0, 45.0),
    Tissue.MUSCLE: (0.3, 15.0, 50.0),
    Tissue.PELVIC_ORGAN: (0.5, 15.0, 50.0),
    Tissue.BLADDER: (0.0, 25.0, 60.0),
    **{fat: (0.0, 110.0, 170.0) for fat in _FATS},
}
#: |delta HU| range on low-contrast scans: 6-18 HU for soft tissue and fat (iso-attenuating
#: lesions, fat-density lesions), faint ground glass in the lungs, subtle lysis in bone.
LOW_CONTRAST_HU: dict[Tissue, tuple[float, float]] = {
    Tissue.LUNG: (60.0, 150.0),
    Tissue.CANCELLOUS_BONE: (20.0, 50.0),
}
DEFAULT_LOW_CONTRAST_HU = (6.0, 18.0)

#: The label-map grid used to place lesions (patient-centred, 2.5 mm pixels).
_PLACEMENT_GRID = SliceGrid(168, 2.5)


@dataclass(frozen=True)
class Lesion:
    """A lesion fixed in the patient: centre (mm), diameters (mm) at its largest, shape."""

    coarse_type: int
    host: Tissue
    cx: float
    cy: float
    cz: float
    long_mm: float
    short_mm: float
    depth_mm: float
    theta: float
    hypodense: bool
    edge_mm: float

    def ellipsoid(self, z_center: float, scale: float = 1.0) -> Ellipsoid:
        """The lesion centred at ``z_center`` (the key slice), diameters times ``scale``."""
        return Ellipsoid(
            self.cx,
            self.cy,
            z_center,
            0.5 * self.long_mm * scale,
            0.5 * self.short_mm * scale,
            0.5 * self.depth_mm * scale,
            self.theta,
        )

    def host_hu(self, anatomy: Anatomy, phase: Phase) -> float:
        """Nominal HU of the tissue the lesion replaces."""
        if self.host == Tissue.LUNG:
            return anatomy.lung_hu(self.cy, phase)
        return anatomy.hu(self.host, phase)


def host_types(u: float) -> list[int]:
    """Coarse types that have a host at torso position ``u``."""
    return [
        t for t, hosts in HOSTS.items() if any(h.u_range[0] <= u <= h.u_range[1] for h in hosts)
    ]


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def sample_lesion(
    rng: np.random.Generator, anatomy: Anatomy, coarse_type: int, z_mm: float | None = None
) -> Lesion | None:
    """A lesion of ``coarse_type`` inside one of its hosts, at ``z_mm`` or a random level.

    Returns ``None`` when no host of that type is at ``z_mm`` (or its host is too thin there).
    """
    hosts = HOSTS[coarse_type]
    if z_mm is not None:
        u = z_mm / anatomy.length_mm
        hosts = tuple(h for h in hosts if h.u_range[0] <= u <= h.u_range[1])
        if not hosts:
            return None
    weights = np.array([h.weight for h in hosts])
    host = hosts[int(rng.choice(len(hosts), p=weights / weights.sum()))]
    if z_mm is None:
        z_mm = rng.uniform(*host.u_range) * anatomy.length_mm
    canvas = Canvas(_PLACEMENT_GRID)
    paint_anatomy(canvas, anatomy, z_mm, Phase.VENOUS)
    mask = np.isin(canvas.labels, [int(t) for t in host.tissues])
    if host.front_of_spine:
        mask &= _PLACEMENT_GRID.y_mm() < anatomy.frame.level(z_mm / anatomy.length_mm).vertebra_y
    mask = mask.astype(np.uint8)
    if mask.sum() < 4:
        return None
    inset_mm = cv2.distanceTransform(mask, cv2.DIST_L2, 5) * _PLACEMENT_GRID.spacing_mm

    lo, hi = DIAMETER_MM[coarse_type]
    long_mm = _log_uniform(rng, lo, hi)
    short_mm = long_mm * rng.uniform(0.55, 1.0)
    # The lesion's short radius must fit in the host; shrink it where the host is thin.
    room = float(inset_mm.max())
    if room < 0.5 * lo:
        return None
    shrink = min(1.0, 1.15 * room / (0.5 * short_mm))
    long_mm, short_mm = max(lo, long_mm * shrink), max(0.6 * lo, short_mm * shrink)
    rows, cols = np.nonzero(inset_mm >= min(0.5 * short_mm, room) * 0.87)
    pick = int(rng.integers(len(rows)))
    cx, cy = _PLACEMENT_GRID.to_mm(
        cols[pick] + rng.uniform(-0.5, 0.5), rows[pick] + rng.uniform(-0.5, 0.5)
    )
    centre_tissue = Tissue(int(canvas.labels[rows[pick], cols[pick]]))
    p_hypo = CONTRAST_HU[centre_tissue][0]
    return Lesion(
        coarse_type=coarse_type,
        host=centre_tissue,
        cx=cx,
        cy=cy,
        cz=z_mm,
        long_mm=long_mm,
        short_mm=short_mm,
        depth_mm=math.sqrt(long_mm * short_mm) * rng.uniform(0.8, 1.2),
        theta=rng.uniform(0.0, math.pi),
        hypodense=bool(rng.random() < p_hypo),
        edge_mm=rng.uniform(0.4, 1.5),
    )


def sample_delta_hu(
    rng: np.random.Generator, lesion: Lesion, host_hu: float, low_contrast: bool
) -> float:
    """Signed lesion-minus-host HU for one series (negative for hypodense lesions).

    ``host_hu`` is the host's HU in that series; a hypodense soft-tissue lesion stays at or above
    water (0 HU), as cysts and necrosis do.
    """
    if low_contrast:
        lo, hi = LOW_CONTRAST_HU.get(lesion.host, DEFAULT_LOW_CONTRAST_HU)
    else:
        _, lo, hi = CONTRAST_HU[lesion.host]
    magnitude = rng.uniform(lo, hi)
    if not lesion.hypodense:
        return magnitude
    if lesion.host not in (*_FATS, Tissue.LUNG) and not low_contrast:
        magnitude = min(magnitude, max(host_hu, lo))
    return -magnitude
