"""Resumable stages of a study job (the main job, the new-scanner study).

Every stage writes ``<work_dir>/<stage>/stage.json`` when it finishes; a re-run skips finished
stages unless ``force`` is set; a stage that runs again re-runs the stages that read its output
(:attr:`StagedRun.depends`). A training stage that was interrupted (killed, machine restarted)
goes on from its last epoch checkpoint, unless ``force`` is set or a stage it reads ran again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from mmlesion.utils import atomic_write_json

from . import train_and_test


class StagedRun:
    """The bookkeeping of resumable stages under one work folder.

    Args:
        work_dir: where each stage keeps its folder and ``stage.json``.
        depends: stage -> the stages whose outputs it reads (a stage missing here reads none).
        force: run every stage again.
        log: where the progress lines go.
    """

    def __init__(
        self,
        work_dir: str | Path,
        depends: Mapping[str, tuple[str, ...]],
        force: bool = False,
        log: Callable[[str], None] = print,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.depends = depends
        self.force = force
        self.log = log
        self._ran: set[str] = set()

    def _marker(self, stage: str) -> Path:
        return self.work_dir / stage / 'stage.json'

    def _redo(self, stage: str) -> bool:
        """Whether ``stage`` must start from scratch: ``force``, or a stage it reads ran again."""
        return self.force or any(d in self._ran for d in self.depends.get(stage, ()))

    def _done(self, stage: str, options: dict | None = None) -> dict | None:
        """The finished stage's record; ``None`` when it must run (again), also when it ran with
        other ``options`` than now (a marker without any ran with none)."""
        if self._redo(stage):
            return None
        marker = self._marker(stage)
        if not marker.is_file():
            return None
        record = json.loads(marker.read_text())
        return record if record.get('stage_options', {}) == (options or {}) else None

    def _finish(self, stage: str, record: dict) -> dict:
        marker = self._marker(stage)
        marker.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(marker, record, indent=2)
        return record

    def _stage(self, stage: str, run: Callable[[], dict], options: dict | None = None) -> dict:
        """Run ``stage`` (``run()`` returns its record) unless it finished before with the same
        ``options``; the record gets ``elapsed_s`` (and ``stage_options``)."""
        done = self._done(stage, options)
        if done is not None:
            self.log(f'[{stage}] done before, skipped (--force re-runs it)')
            return done
        self._ran.add(stage)  # the stages that read this one's output run again too
        self.log(f'[{stage}] running')
        start = time.perf_counter()
        record = run()
        record['elapsed_s'] = round(time.perf_counter() - start, 1)
        if options:
            record['stage_options'] = options
        self.log(f'[{stage}] finished in {record["elapsed_s"]:.0f} s')
        return self._finish(stage, record)

    def _resume_from(self, stage: str) -> str | None:
        """``'auto'`` when an interrupted training stage can go on from its last checkpoint.

        Only while nothing it reads was redone in this run (new data, a new detector) and
        without ``force``; otherwise the stage trains from scratch.
        """
        if self._redo(stage):
            return None
        return 'auto' if (self.work_dir / stage / 'last_checkpoint').is_file() else None

    def _train(self, config: str, stage: str, options: dict) -> dict:
        """Train ``config`` in ``<work_dir>/<stage>``, going on from an interrupted run's last
        checkpoint (:meth:`_resume_from`): ``checkpoint`` (the best), ``log_dir``,
        ``resumed`` and ``train_seconds`` (of this call: only the resumed part when
        ``resumed``)."""
        resume = self._resume_from(stage)
        if resume:
            self.log(f'[{stage}] resuming the interrupted run from its last checkpoint')
        result = train_and_test.train(
            config, str(self.work_dir / stage), options, desc=stage, resume=resume
        )
        return {
            'checkpoint': result.best_checkpoint,
            'log_dir': result.log_dir,
            'resumed': resume is not None,
            'train_seconds': round(result.elapsed_s, 1),
        }
