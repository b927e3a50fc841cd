"""What the measurements ran on, for the reports."""

from __future__ import annotations

import platform
from pathlib import Path

import torch


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
