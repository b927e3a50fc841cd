"""Per-epoch training curves from an mmengine run's ``vis_data/scalars.json``."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from mmlesion.utils.atomic_write import atomic_write_figure


@dataclass
class EpochCurves:
    """Per-epoch values of one run.

    ``train[key][epoch]`` is the last value logged for ``key`` during that training epoch (with
    an epoch-window log processor, the epoch mean); ``val[key][epoch]`` the validation result
    after that epoch.
    """

    train: dict[str, dict[int, float]] = field(default_factory=dict)
    val: dict[str, dict[int, float]] = field(default_factory=dict)

    def train_series(self, key: str) -> tuple[list[int], list[float]]:
        points = sorted(self.train.get(key, {}).items())
        return [e for e, _ in points], [v for _, v in points]

    def val_series(self, key: str) -> tuple[list[int], list[float]]:
        points = sorted(self.val.get(key, {}).items())
        return [e for e, _ in points], [v for _, v in points]


def read_epoch_curves(log_dir: str | Path) -> EpochCurves:
    """Parse ``<log_dir>/vis_data/scalars.json`` (one JSON object a line).

    Training lines carry ``epoch``; validation lines carry metric keys with ``step`` = epoch.
    """
    path = Path(log_dir) / 'vis_data' / 'scalars.json'
    if not path.is_file():
        raise FileNotFoundError(f'no scalars log at {path}')
    curves = EpochCurves()
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if 'epoch' in record and 'lr' in record:
            epoch = int(record['epoch'])
            target = curves.train
        else:
            epoch = int(record.get('step', 0))
            target = curves.val
        for key, value in record.items():
            if key in ('epoch', 'iter', 'step') or not isinstance(value, (int, float)):
                continue
            if isinstance(value, float) and math.isnan(value):
                continue
            target.setdefault(key, {})[epoch] = float(value)
    return curves


def plot_enhancer_curves(
    curves: EpochCurves,
    out_file: str | Path,
    baselines: dict[str, float] | None = None,
    monitor: str = 'deeplesion/mAP',
) -> None:
    """The paper's Fig. 3: (a) training loss ``map_delta`` = mAP(original) − mAP(enhanced) per
    epoch (negative = the enhancement helps) and the surrogate loss; (b) validation mAP of the
    enhanced pipeline per epoch, with the baselines' validation mAP as horizontal lines.

    Values in the figure are in percent (mAP points).
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(11, 4))
    epochs, delta = curves.train_series('map_delta')
    if epochs:
        ax_loss.plot(epochs, [100 * d for d in delta], 'o-', label='map_delta (mAP points)')
    epochs_s, surrogate = curves.train_series('loss_enhance')
    if epochs_s:
        ax_twin = ax_loss.twinx()
        ax_twin.plot(epochs_s, surrogate, 's--', color='tab:orange', label='loss_enhance')
        ax_twin.set_ylabel('objective (loss_enhance)')
        ax_twin.legend(loc='upper right')
    ax_loss.axhline(0.0, color='grey', lw=0.8)
    ax_loss.set_xlabel('epoch')
    ax_loss.set_ylabel('mAP(original) − mAP(enhanced), points')
    ax_loss.set_title('(a) enhancer training loss')
    ax_loss.legend(loc='upper left')

    epochs_v, values = curves.val_series(monitor)
    ax_val.plot(epochs_v, [100 * v for v in values], 'o-', label='learned enhancer')
    for i, (name, value) in enumerate((baselines or {}).items()):
        ax_val.axhline(100 * value, ls=':', color=f'C{i + 1}', label=name)
    ax_val.set_xlabel('epoch')
    ax_val.set_ylabel(f'validation {monitor.split("/")[-1]} (%)')
    ax_val.set_title('(b) validation mAP')
    ax_val.legend()
    fig.tight_layout()
    atomic_write_figure(out_file, fig, dpi=120)
    plt.close(fig)
