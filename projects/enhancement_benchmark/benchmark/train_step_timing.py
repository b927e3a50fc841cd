"""Where a training step goes: time a config's training steps on pre-loaded batches (data
loading left out), optionally under cProfile."""

from __future__ import annotations

import cProfile
import pstats
import time

from mmengine.config import Config
from mmengine.runner import Runner


def time_train_steps(
    cfg: Config, steps: int, warmup: int = 3, cprofile: bool = True
) -> tuple[float, pstats.Stats | None]:
    """Seconds a training step of ``cfg``'s model, and its cProfile statistics.

    Builds the model, optimizer wrapper and training dataloader as the Runner does, loads
    ``warmup + steps`` batches first, runs ``warmup`` steps untimed, then times ``steps``
    steps (preprocess, forward, loss, backward, optimizer step), under cProfile when
    ``cprofile``. The profiler adds its own overhead to Python-heavy code: compare profiled
    runs with profiled runs.

    Returns:
        ``(seconds_per_step, stats)``; ``stats`` is ``None`` without ``cprofile``.
    """
    if steps < 1 or warmup < 0:
        raise ValueError(f'steps must be >= 1 and warmup >= 0, got {steps} and {warmup}')
    runner = Runner.from_cfg(cfg)
    model = runner.model
    model.train()
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    batches, loader = [], iter(runner.build_dataloader(cfg.train_dataloader))
    while len(batches) < warmup + steps:
        try:
            batches.append(next(loader))
        except StopIteration:
            loader = iter(runner.build_dataloader(cfg.train_dataloader))

    def step(batch: dict) -> None:
        with optim_wrapper.optim_context(model):
            data = model.data_preprocessor(batch, True)
            losses = model._run_forward(data, mode='loss')
        loss, _ = model.parse_losses(losses)
        optim_wrapper.update_params(loss)

    for batch in batches[:warmup]:
        step(batch)
    profiler = cProfile.Profile() if cprofile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    for batch in batches[warmup:]:
        step(batch)
    if profiler:
        profiler.disable()
    seconds = (time.perf_counter() - start) / steps
    return seconds, pstats.Stats(profiler) if profiler else None
