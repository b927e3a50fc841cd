"""Settings of one synthetic DeepLesion generation run."""

from __future__ import annotations

from dataclasses import dataclass

from .sites import SITES


@dataclass(frozen=True)
class SyntheticConfig:
    """What to generate. Same config (seed included) -> byte-identical output.

    Attributes:
        num_patients: patients to generate; they are split about 70/15/15 into train/val/test
            (each split gets at least one patient from 3 patients on).
        seed: master seed; every patient draws from its own generator seeded by
            ``(seed, patient_index)``, so a patient does not depend on the others.
        difficulty: in [0, 1]; 0 makes every series clean, 1 degrades most of them (see
            :mod:`.acquisition`).
        image_size: slice height and width, pixels (512 in DeepLesion). The field of view stays
            300-500 mm, so the pixel spacing grows as the size shrinks.
        context_mm: stored slices reach at least this far (mm) above and below every key slice.
        min_slices_per_side: and at least this many slices on each side.
        unlabelled_fraction: fraction of lesions written with ``Coarse_lesion_type = -1``, in
            every split.
        real_style_unlabelled_train: write the whole train split as -1, like the real release.
        possibly_noisy_fraction: fraction of lesions flagged ``Possibly_noisy`` (their RECIST
            end points get a larger measurement error).
        site: the acquisition site, a key of :data:`~.sites.SITES`: ``'a'`` (the reference) or
            ``'b'`` (low dose, sharp kernel). Another site draws other patients for the seed.
    """

    num_patients: int = 40
    seed: int = 0
    difficulty: float = 0.5
    image_size: int = 512
    context_mm: float = 8.0
    min_slices_per_side: int = 2
    unlabelled_fraction: float = 0.1
    real_style_unlabelled_train: bool = False
    possibly_noisy_fraction: float = 0.03
    site: str = 'a'

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ValueError(f'seed must be >= 0, got {self.seed}')
        if self.num_patients < 1:
            raise ValueError(f'num_patients must be >= 1, got {self.num_patients}')
        if not 0.0 <= self.difficulty <= 1.0:
            raise ValueError(f'difficulty must be in [0, 1], got {self.difficulty}')
        if not 32 <= self.image_size <= 2048:
            raise ValueError(f'image_size must be in [32, 2048] pixels, got {self.image_size}')
        if self.context_mm < 0 or self.min_slices_per_side < 0:
            raise ValueError(
                'context_mm and min_slices_per_side must be >= 0, got '
                f'{self.context_mm} and {self.min_slices_per_side}'
            )
        if self.site not in SITES:
            raise ValueError(f'site must be one of {sorted(SITES)}, got {self.site!r}')
        for name in ('unlabelled_fraction', 'possibly_noisy_fraction'):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'{name} must be in [0, 1], got {value}')
