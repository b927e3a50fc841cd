"""Tissue classes of the synthetic CT phantom and their Hounsfield units.

Each pixel of a rendered slice carries one :class:`Tissue` label beside its HU value. Labels are
internal to the generator (they are never written): lesions are placed by them and tests use them.
HU values follow adult CT literature for an unenhanced scan and a portal-venous phase scan.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Tissue(IntEnum):
    """Tissue label of a phantom pixel (``uint8`` in label maps)."""

    AIR = 0
    TABLE = 1
    SKIN = 2
    SUBCUTANEOUS_FAT = 3
    MUSCLE = 4
    VISCERAL_FAT = 5
    LUNG = 6
    AIRWAY = 7
    MEDIASTINAL_FAT = 8
    MYOCARDIUM = 9
    BLOOD = 10
    LIVER = 11
    GALLBLADDER = 12
    SPLEEN = 13
    BOWEL = 14
    BOWEL_FLUID = 15
    BOWEL_GAS = 16
    PANCREAS = 17
    KIDNEY_CORTEX = 18
    KIDNEY_MEDULLA = 19
    BLADDER = 20
    PELVIC_ORGAN = 21
    CSF = 22
    DISC = 23
    CANCELLOUS_BONE = 24
    CORTICAL_BONE = 25
    CARTILAGE = 26
    LESION = 27


class Phase(IntEnum):
    """Contrast phase of a study: column index into :data:`TISSUE_HU`."""

    UNENHANCED = 0
    VENOUS = 1


#: Nominal HU per tissue, ``(unenhanced, portal-venous)``.
TISSUE_HU: dict[Tissue, tuple[float, float]] = {
    Tissue.AIR: (-1000.0, -1000.0),
    Tissue.TABLE: (120.0, 120.0),
    Tissue.SKIN: (40.0, 45.0),
    Tissue.SUBCUTANEOUS_FAT: (-105.0, -100.0),
    Tissue.MUSCLE: (50.0, 58.0),
    Tissue.VISCERAL_FAT: (-100.0, -95.0),
    Tissue.LUNG: (-850.0, -845.0),
    Tissue.AIRWAY: (-1000.0, -1000.0),
    Tissue.MEDIASTINAL_FAT: (-100.0, -95.0),
    Tissue.MYOCARDIUM: (45.0, 110.0),
    Tissue.BLOOD: (40.0, 160.0),
    Tissue.LIVER: (58.0, 110.0),
    Tissue.GALLBLADDER: (8.0, 10.0),
    Tissue.SPLEEN: (48.0, 120.0),
    Tissue.BOWEL: (40.0, 95.0),
    Tissue.BOWEL_FLUID: (12.0, 15.0),
    Tissue.BOWEL_GAS: (-1000.0, -1000.0),
    Tissue.PANCREAS: (42.0, 95.0),
    Tissue.KIDNEY_CORTEX: (32.0, 170.0),
    Tissue.KIDNEY_MEDULLA: (30.0, 125.0),
    Tissue.BLADDER: (8.0, 10.0),
    Tissue.PELVIC_ORGAN: (42.0, 80.0),
    Tissue.CSF: (12.0, 12.0),
    Tissue.DISC: (80.0, 85.0),
    Tissue.CANCELLOUS_BONE: (230.0, 235.0),
    Tissue.CORTICAL_BONE: (850.0, 850.0),
    Tissue.CARTILAGE: (130.0, 135.0),
    Tissue.LESION: (40.0, 80.0),
}

#: Standard deviation (HU) of the smooth anatomical texture added to each tissue.
TISSUE_TEXTURE_HU: dict[Tissue, float] = {
    Tissue.SKIN: 5.0,
    Tissue.SUBCUTANEOUS_FAT: 6.0,
    Tissue.MUSCLE: 6.0,
    Tissue.VISCERAL_FAT: 9.0,
    Tissue.LUNG: 12.0,
    Tissue.MEDIASTINAL_FAT: 7.0,
    Tissue.MYOCARDIUM: 4.0,
    Tissue.BLOOD: 3.0,
    Tissue.LIVER: 4.0,
    Tissue.GALLBLADDER: 2.0,
    Tissue.SPLEEN: 4.0,
    Tissue.BOWEL: 8.0,
    Tissue.BOWEL_FLUID: 4.0,
    Tissue.PANCREAS: 8.0,
    Tissue.KIDNEY_CORTEX: 5.0,
    Tissue.KIDNEY_MEDULLA: 5.0,
    Tissue.BLADDER: 2.0,
    Tissue.PELVIC_ORGAN: 5.0,
    Tissue.CSF: 3.0,
    Tissue.DISC: 6.0,
    Tissue.CANCELLOUS_BONE: 35.0,
    Tissue.CORTICAL_BONE: 60.0,
    Tissue.CARTILAGE: 10.0,
    Tissue.LESION: 4.0,
}

#: Tissues that are not part of the patient (no texture, no beam-hardening shading).
OUTSIDE_BODY: frozenset[Tissue] = frozenset({Tissue.AIR, Tissue.TABLE})


def texture_lut() -> np.ndarray:
    """Texture standard deviation (HU) per label, ``(len(Tissue),) float32``: ``lut[labels]``."""
    lut = np.zeros(len(Tissue), np.float32)
    for tissue, sigma in TISSUE_TEXTURE_HU.items():
        lut[tissue] = sigma
    return lut


def sample_patient_hu(rng: np.random.Generator, age_years: float) -> np.ndarray:
    """One patient's HU per tissue and phase, ``(len(Tissue), 2) float64``.

    Soft tissues vary by a few HU between patients; liver density drops with fatty infiltration
    and trabecular bone loses density with age (osteopenia).
    """
    table = np.zeros((len(Tissue), 2))
    for tissue, values in TISSUE_HU.items():
        table[tissue] = values
    soft = [t for t in Tissue if t not in (Tissue.AIR, Tissue.AIRWAY, Tissue.BOWEL_GAS)]
    table[soft] += rng.normal(0.0, 4.0, size=(len(soft), 1))
    table[Tissue.LIVER] -= rng.uniform(0.0, 25.0) if rng.random() < 0.25 else 0.0
    table[Tissue.CANCELLOUS_BONE] = float(np.clip(330.0 - 2.5 * age_years, 110.0, 300.0))
    table[Tissue.CORTICAL_BONE] = rng.uniform(700.0, 1100.0)
    return table
