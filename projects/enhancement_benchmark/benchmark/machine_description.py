"""What the measurements ran on, for the reports, and the torch thread count the study tools
run with (part of that description)."""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import torch

#: The torch threads of ``make demo``: the count its published numbers were measured with.
DEMO_THREADS = 2


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """``--threads`` (default :data:`DEMO_THREADS`), applied by :func:`use_threads`."""
    parser.add_argument(
        '--threads',
        type=int,
        default=DEMO_THREADS,
        help='torch CPU threads (default %(default)s, as the published demo numbers ran). Float '
        "sums are split differently with another count, which moves one seed's test metrics "
        'by up to a few points: docs/en/results.md. The reports name the count, and the '
        'benchmark JSON keeps a run per seed, device and count',
    )


def use_threads(threads: int) -> None:
    """Run torch on ``threads`` CPU threads.

    Raises:
        SystemExit: fewer than one (before any stage runs).
    """
    if threads < 1:
        raise SystemExit(f'--threads must be at least 1, got {threads}')
    torch.set_num_threads(threads)


def machine_description() -> str:
    """CPU model and core count, or the GPU name."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    return f'{cpu}, {torch.get_num_threads()} threads'
