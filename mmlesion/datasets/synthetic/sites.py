"""Acquisition sites: the same patients' anatomy and lesions, scanned by another scanner.

A site is a row of :data:`SITES`; it changes acquisition only. The anatomy, lesion model, series
planning, display windows, contrast phases, degradation mix and on-disk format are the same for
every site. A site draws its own patients (its seeds carry :attr:`Site.stream_key`), with their
own patient-level train/val/test split.

``a``
    The reference site: every data set made before sites existed is site A, byte for byte.
``b``
    A low-dose protocol with a sharper reconstruction kernel:

    - *dose*: a fixed, reduced tube current-time product without size-adapted exposure, so the
      quantum noise of each patient is multiplied by ``m`` in ``[1, 3]``, log-uniform, larger
      patients noisier. Noise std scales as ``1 / sqrt(dose)``, so ``m`` stands for a dose
      fraction ``1 / m**2`` of site A's, from 1 down to 1/9 (1/3 at the median ``m = sqrt(3)``).
      ``m``'s position in its range follows the patient's body-size percentile through a
      Gaussian copula with correlation :attr:`Site.size_correlation`, so ``m`` stays exactly
      log-uniform while big patients get the high end;
    - *kernel*: a sharper kernel (:class:`~.acquisition.ReconKernel`, an unsharp mask): steeper
      edges with a slight overshoot, finer and stronger noise;
    - the contrast phase mix is site A's: a phase change is a protocol choice, not the scanner's,
      and would move lesion contrast itself.

See ``docs/en/dataset_prepare.md`` for the parameters and why they are realistic.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np

from mmlesion.utils.atomic_write import atomic_write_json

from .acquisition import AcquisitionProfile, ReconKernel
from .frame import TorsoFrame, sample_frame

#: Written beside ``DL_info.csv``: which site a data set is, and its parameters.
SITE_RECORD_NAME = 'synthetic_site.json'
#: Relative torso position (mid abdomen) where the body size is measured.
BODY_SIZE_U = 0.6
#: Frames drawn to tabulate the body-size distribution (percentiles).
_REFERENCE_FRAMES = 4096
#: Appended to a patient's seed for the site's own draws (noise multiplier): they never move
#: the anatomy or the plan. Larger than any study index, so no series stream can equal it.
_SITE_DRAWS = 9999


@dataclass(frozen=True)
class Site:
    """One acquisition site.

    Attributes:
        name: its key in :data:`SITES`.
        description: one line for reports.
        stream_key: appended to every seed (splits, patients, series): other patients per site.
            Empty for site A, whose seeds predate sites.
        noise_multiplier_range: ``(low, high)``; each patient's noise std is multiplied by a
            log-uniform draw in it. ``(1, 1)``: no change.
        size_correlation: in [0, 1], the Gaussian-copula correlation between a patient's
            body-size percentile and the position of its multiplier in the range.
        kernel: the reconstruction kernel relative to site A's; ``None``: site A's.
    """

    name: str
    description: str
    stream_key: tuple[int, ...]
    noise_multiplier_range: tuple[float, float]
    size_correlation: float
    kernel: ReconKernel | None

    def __post_init__(self) -> None:
        low, high = self.noise_multiplier_range
        if not 0 < low <= high:
            raise ValueError(
                f'site {self.name!r}: noise_multiplier_range must be 0 < low <= high, got '
                f'{self.noise_multiplier_range}'
            )
        if not 0.0 <= self.size_correlation <= 1.0:
            raise ValueError(
                f'site {self.name!r}: size_correlation must be in [0, 1], got '
                f'{self.size_correlation}'
            )

    def patient_noise_multiplier(self, frame: TorsoFrame, rng: np.random.Generator) -> float:
        """The noise-std multiplier of the patient with torso ``frame``; draws from ``rng``
        only when the range is not a single value."""
        low, high = self.noise_multiplier_range
        if low == high:
            return low
        normal = NormalDist()
        rho = self.size_correlation
        z = rho * normal.inv_cdf(body_size_percentile(frame))
        z += math.sqrt(1.0 - rho * rho) * float(rng.standard_normal())
        return low * (high / low) ** normal.cdf(z)

    def acquire(self, profile: AcquisitionProfile, noise_multiplier: float) -> AcquisitionProfile:
        """``profile`` (drawn as at site A) as this site acquires it."""
        if noise_multiplier == 1.0 and self.kernel is None:
            return profile
        return dataclasses.replace(
            profile,
            noise_sigma_hu=round(profile.noise_sigma_hu * noise_multiplier, 1),
            kernel=self.kernel,
        )


SITES: dict[str, Site] = {
    'a': Site(
        name='a',
        description='reference site: routine dose, standard kernel',
        stream_key=(),
        noise_multiplier_range=(1.0, 1.0),
        size_correlation=0.0,
        kernel=None,
    ),
    'b': Site(
        name='b',
        description='low dose (noise x1-3, larger patients noisier), sharp kernel',
        stream_key=(0x5B,),
        noise_multiplier_range=(1.0, 3.0),
        size_correlation=0.8,
        kernel=ReconKernel(name='sharp', amount=1.0, sigma_px=1.0),
    ),
}


def body_diameter_mm(frame: TorsoFrame) -> float:
    """Effective diameter of the torso at :data:`BODY_SIZE_U`, mm: ``2 sqrt(a b)`` of its
    width and mean depth semi-axes (the size that sets how much the body attenuates)."""
    level = frame.level(BODY_SIZE_U)
    return 2.0 * math.sqrt(level.body_a * 0.5 * (level.body_b + level.body_back))


@functools.cache
def _reference_diameters() -> np.ndarray:
    """Sorted body diameters of :data:`_REFERENCE_FRAMES` patients drawn as the generator
    draws them (same gender mix), from a fixed seed."""
    rng = np.random.default_rng([0x5173, 0xB0D7])
    diameters = []
    for _ in range(_REFERENCE_FRAMES):
        gender = 'M' if rng.random() < 0.5 else 'F'
        diameters.append(body_diameter_mm(sample_frame(rng, gender)))
    return np.sort(np.array(diameters))


def body_size_percentile(frame: TorsoFrame) -> float:
    """The body diameter's percentile among generated patients, in (0, 1)."""
    reference = _reference_diameters()
    rank = np.searchsorted(reference, body_diameter_mm(frame))
    return float((rank + 0.5) / (len(reference) + 1))


def site_draws_seed(patient_stream: tuple[int, ...]) -> list[int]:
    """Seed of a patient's site-specific draws, apart from its anatomy and plan streams."""
    return [*patient_stream, _SITE_DRAWS]


def write_site_record(
    path: str | Path, site: Site, config: object, noise_multipliers: dict[int, float]
) -> None:
    """Write :data:`SITE_RECORD_NAME`: the site, its parameters, the generation config and
    each patient's noise multiplier (keyed by the patient index)."""
    atomic_write_json(
        path,
        {
            'site': site.name,
            'description': site.description,
            'parameters': dataclasses.asdict(site),
            'config': dataclasses.asdict(config),
            'patient_noise_multiplier': {
                str(index): round(m, 4) for index, m in sorted(noise_multipliers.items())
            },
        },
        indent=2,
    )


def read_site(data_root: str | Path) -> str:
    """Which site the synthetic data set under ``data_root`` is; ``'a'`` when it carries no
    :data:`SITE_RECORD_NAME` (made before sites existed).

    Raises:
        ValueError: the record does not parse or names no known site.
    """
    path = Path(data_root) / SITE_RECORD_NAME
    if not path.is_file():
        return 'a'
    try:
        site = json.loads(path.read_text(encoding='utf-8'))['site']
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f'{path}: expected a JSON object with a "site" key ({e})') from None
    if site not in SITES:
        raise ValueError(f'{path}: site {site!r} is not one of {sorted(SITES)}')
    return site
