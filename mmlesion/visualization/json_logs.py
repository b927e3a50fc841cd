"""mmengine's JSON scalar logs: loss and metric curves, and the time per training iteration
(``tools/analysis_tools/analyze_logs.py``).

mmengine's ``LoggerHook`` writes one JSON object a line to ``<work_dir>/<timestamp>/vis_data/
scalars.json`` (and the same lines to ``vis_data/<timestamp>.json``):

- a training line every ``interval`` iterations: the logged scalars (``loss``, ``loss_*``,
  ``lr``, ``time`` and ``data_time`` in s/iter, ...), ``epoch`` (when training by epoch), and
  ``iter`` and ``step``, both the global iteration;
- a validation line after each validation: the metrics (``deeplesion/mAP``, ...) and ``step``
  (the epoch when training by epoch, else the global iteration).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Bookkeeping keys of a log line: where it was logged, not what.
POSITION_KEYS = ('epoch', 'iter', 'step')


@dataclass(frozen=True)
class JsonLog:
    """The lines of one mmengine JSON log, split into training and validation lines."""

    path: Path
    train: list[dict]
    val: list[dict]

    @property
    def by_epoch(self) -> bool:
        """Whether the run trained by epoch (its validation steps are epochs)."""
        return any('epoch' in line for line in self.train)

    def keys(self) -> tuple[list[str], list[str]]:
        """The scalar keys of the training lines and of the validation lines."""

        def scalars(lines: list[dict]) -> list[str]:
            found = dict.fromkeys(k for line in lines for k in line if k not in POSITION_KEYS)
            return list(found)

        return scalars(self.train), scalars(self.val)


def find_json_log(path: str | Path) -> Path:
    """``path`` itself when it is a file; for a folder, its ``vis_data/scalars.json`` (a run's
    timestamp folder) or ``scalars.json`` (a ``vis_data`` folder)."""
    path = Path(path)
    if path.is_file():
        return path
    for candidate in (path / 'vis_data' / 'scalars.json', path / 'scalars.json'):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f'{path}: no JSON log (expected a .json file, or a folder with vis_data/scalars.json)'
    )


def load_json_log(path: str | Path) -> JsonLog:
    """Read an mmengine JSON log (see the module docstring); a line with ``iter`` is a
    training line, any other a validation line.

    Raises:
        ValueError: a line is not a JSON object (the file and line are named).
    """
    path = find_json_log(path)
    train, val = [], []
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f'{path}, line {number}: not JSON ({error.msg})') from None
        if not isinstance(line, dict):
            raise ValueError(f'{path}, line {number}: expected a JSON object')
        (train if 'iter' in line else val).append(line)
    return JsonLog(path=path, train=train, val=val)


def log_curve(log: JsonLog, key: str) -> tuple[np.ndarray, np.ndarray, str]:
    """One logged scalar against training progress.

    Args:
        log: a :func:`load_json_log` result.
        key: a training key (``loss``, ``lr``, ...) or a validation key (``deeplesion/mAP``).

    Returns:
        ``(x, y, x_label)``: float64 ``(K,)`` arrays and what ``x`` counts: ``'iter'`` (global
        iteration) for a training key, ``'epoch'`` (or ``'iter'`` when the run trains by
        iteration) for a validation key. Lines without the key are skipped; NaN values kept.

    Raises:
        KeyError: no line has ``key`` (the message lists the keys there are).
    """
    train_keys, val_keys = log.keys()
    if key in train_keys:
        lines, x_label = log.train, 'iter'
    elif key in val_keys:
        lines, x_label = log.val, 'epoch' if log.by_epoch else 'iter'
    else:
        raise KeyError(
            f'{log.path} has no {key!r}; training keys: {train_keys}, validation keys: {val_keys}'
        )
    points = [(float(line['step']), float(line[key])) for line in lines if key in line]
    x, y = (np.array(values, dtype=np.float64) for values in zip(*points, strict=True))
    return x, y, x_label


def plot_log_curves(
    logs: Sequence[JsonLog],
    keys: Sequence[str],
    out_file: str | Path | None = None,
    legend: Sequence[str] | None = None,
    title: str | None = None,
):
    """Plot ``keys`` of each log, one axes per key, one line per log.

    Args:
        logs: the logs to compare.
        keys: the scalars to plot (:func:`log_curve`).
        out_file: write the figure here (its suffix sets the format); None: show it.
        legend: a name per ``(log, key)`` pair, log-major; default ``'<log file>: <key>'``.
        title: the figure's title.

    Returns:
        The matplotlib figure.
    """
    import matplotlib

    if out_file is not None:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    num_lines = len(logs) * len(keys)
    if legend is not None and len(legend) != num_lines:
        raise ValueError(
            f'--legend needs one name per log and key ({len(logs)} x {len(keys)} = {num_lines}), '
            f'got {len(legend)}'
        )
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4), squeeze=False)
    for k, key in enumerate(keys):
        ax = axes[0, k]
        for i, log in enumerate(logs):
            x, y, x_label = log_curve(log, key)
            name = legend[i * len(keys) + k] if legend is not None else f'{log.path.name}: {key}'
            ax.plot(x, y, marker='o' if len(x) < 30 else None, label=name)
            ax.set_xlabel(x_label)
        ax.set_ylabel(key)
        ax.legend()
    if title is not None:
        fig.suptitle(title)
    fig.tight_layout()
    if out_file is None:
        plt.show()
    else:
        Path(out_file).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_file)
        plt.close(fig)
    return fig


@dataclass(frozen=True)
class TrainTime:
    """Seconds per training iteration (mmengine's logged ``time``) over a run's epochs."""

    #: ``(E,)`` mean logged time of each epoch, s/iter, and the epoch numbers.
    epoch_means: np.ndarray
    epochs: list[int]
    #: Mean over every kept line, s/iter.
    average: float

    @property
    def slowest_epoch(self) -> int:
        return self.epochs[int(np.argmax(self.epoch_means))]

    @property
    def fastest_epoch(self) -> int:
        return self.epochs[int(np.argmin(self.epoch_means))]

    @property
    def std_over_epochs(self) -> float:
        return float(np.std(self.epoch_means))


def train_time(log: JsonLog, include_outliers: bool = False) -> TrainTime:
    """The logged time per iteration by epoch (one group when training by iteration).

    Args:
        include_outliers: keep each epoch's first logged line, which holds the start-up
            (workers, caches) and is left out by default, as mmdet's ``cal_train_time`` does;
            an epoch of a single line keeps it.

    Raises:
        ValueError: the log has no training line with ``time``.
    """
    groups: dict[int, list[float]] = {}
    for line in log.train:
        if 'time' in line and not math.isnan(float(line['time'])):
            groups.setdefault(int(line.get('epoch', 1)), []).append(float(line['time']))
    if not groups:
        raise ValueError(f'{log.path}: no training line with a logged time')
    kept = {
        epoch: times if include_outliers or len(times) == 1 else times[1:]
        for epoch, times in sorted(groups.items())
    }
    return TrainTime(
        epoch_means=np.array([np.mean(times) for times in kept.values()]),
        epochs=list(kept),
        average=float(np.mean(np.concatenate([np.asarray(t) for t in kept.values()]))),
    )
