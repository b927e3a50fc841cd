"""What a generation run produced, counted from its rows, for the printed report."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..dl_info import COARSE_LESION_TYPES, SPLIT_CODES, LesionRow
from .sidecar import AcquisitionRecord
from .sites import SITES

#: Long-diameter bins (pixels) of the size histogram.
SIZE_BINS_PX: tuple[float, ...] = (0.0, 8.0, 16.0, 32.0, 64.0, float('inf'))
_SPLITS = tuple(SPLIT_CODES.values())


@dataclass(frozen=True)
class GenerationSummary:
    """Counts of one run. ``per_split[split][what]`` with ``what`` in patients, studies,
    series, key_slices, lesions, slices; ``per_type`` counts lesions (``'unlabelled'`` for -1),
    ``per_profile`` key slices; ``size_histogram`` lesions per long-diameter bin (pixels);
    ``site`` the acquisition site (:mod:`.sites`)."""

    out_dir: str
    per_split: Mapping[str, Mapping[str, int]]
    per_type: Mapping[str, int]
    per_profile: Mapping[str, int]
    size_histogram: Mapping[str, int]
    long_diameter_px: Mapping[str, float]
    elapsed_s: float
    site: str = 'a'

    def total(self, what: str) -> int:
        return sum(counts[what] for counts in self.per_split.values())

    def format(self) -> str:
        """A multi-line human-readable report."""
        lines = [
            f'Synthetic DeepLesion written to {self.out_dir} in {self.elapsed_s:.1f} s',
            f'acquisition site: {self.site} ({SITES[self.site].description})',
        ]
        columns = ('patients', 'studies', 'series', 'key_slices', 'lesions', 'slices')
        lines.append(f'{"split":<8}' + ''.join(f'{c:>12}' for c in columns))
        for split, counts in self.per_split.items():
            lines.append(f'{split:<8}' + ''.join(f'{counts[c]:>12}' for c in columns))
        lines.append(f'{"total":<8}' + ''.join(f'{self.total(c):>12}' for c in columns))
        listings = (
            ('lesions per coarse type', self.per_type),
            ('key slices per acquisition profile', self.per_profile),
            ('long diameter (px)', {k: f'{v:.1f}' for k, v in self.long_diameter_px.items()}),
            ('lesions per long-diameter bin (px)', self.size_histogram),
        )
        for title, counts in listings:
            lines.append(f'{title}: ' + ', '.join(f'{k} {v}' for k, v in counts.items()))
        return '\n'.join(lines)


def _bin_names() -> list[str]:
    names = []
    for lo, hi in itertools.pairwise(SIZE_BINS_PX):
        names.append(f'>={lo:g}' if hi == float('inf') else f'{lo:g}-{hi:g}')
    return names


def summarize(
    out_dir: str,
    rows: Sequence[LesionRow],
    acquisitions: Sequence[AcquisitionRecord],
    slices_per_split: Mapping[str, int],
    elapsed_s: float,
    site: str = 'a',
) -> GenerationSummary:
    """Count ``rows`` (and their key slices' ``acquisitions``) per split, type and profile."""
    per_split: dict[str, dict[str, int]] = {}
    for split in _SPLITS:
        mine = [r for r in rows if r.split == split]
        per_split[split] = {
            'patients': len({r.patient_index for r in mine}),
            'studies': len({(r.patient_index, r.study_index) for r in mine}),
            'series': len({r.series_folder for r in mine}),
            'key_slices': len({r.file_name for r in mine}),
            'lesions': len(mine),
            'slices': slices_per_split.get(split, 0),
        }
    types = Counter(r.coarse_type_name for r in rows)
    per_type = {name: types.get(name, 0) for name in (*COARSE_LESION_TYPES, 'unlabelled')}
    profiles = Counter(a.profile for a in acquisitions)
    longs = np.array([r.diameters_px[0] for r in rows]) if rows else np.zeros(1)
    counts, _ = np.histogram(longs, bins=SIZE_BINS_PX)
    return GenerationSummary(
        out_dir=out_dir,
        per_split=per_split,
        per_type=per_type,
        per_profile=dict(sorted(profiles.items(), key=lambda kv: (-kv[1], kv[0]))),
        size_histogram=dict(zip(_bin_names(), (int(c) for c in counts), strict=True)),
        long_diameter_px={
            'min': float(longs.min()),
            'median': float(np.median(longs)),
            'p90': float(np.percentile(longs, 90)),
            'max': float(longs.max()),
        },
        elapsed_s=elapsed_s,
        site=site,
    )
