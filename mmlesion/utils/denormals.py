"""Flush subnormal floats to zero on the CPU, where they are slow.

On x86 CPUs an arithmetic operation on a subnormal float32 (magnitude below 1.2e-38) takes a
microcode path tens of times slower than a normal one. AdamW's weight decay drives the weights
that stop receiving gradient towards zero through that range, so that a long CPU training run
slows down as it goes. The frozen detector carries such weights into the enhancer's training
and every evaluation.

``torch.set_flush_denormal(True)`` sets the flush-to-zero and denormals-are-zero modes of the
*calling thread*: subnormal inputs and results count as 0, which changes a value by less than
1.2e-38; normal floats are computed exactly as before. torch's intra-op (OpenMP) threads
copy the mode only when they are started, i.e. at the process's first multi-threaded torch
operation; threads that exist already keep computing subnormals. So :func:`flush_denormals`
must run before any torch computation: the tools in ``tools/`` call it first thing in
``main()``. :func:`denormals_flushed` checks
that it reached every thread. CUDA kernels are not affected.
"""

from __future__ import annotations

import torch


def flush_denormals() -> bool:
    """Turn on flush-to-zero for subnormal floats; whether the CPU supports it.

    Returns:
        ``True`` when the mode is on for this thread (x86 with SSE3), ``False`` where torch
        cannot set it (then nothing changes; runs are only slower when they meet subnormals).
    """
    return bool(torch.set_flush_denormal(True))


def _subnormal(shape: tuple[int, ...]) -> torch.Tensor:
    """A float32 tensor of 2.9e-39 (subnormal), built from its bits: no arithmetic, so the
    flush-to-zero mode cannot turn it into 0 on the way."""
    return torch.full(shape, 1 << 21, dtype=torch.int32).view(torch.float32)


def flushes_on_this_thread() -> bool:
    """Whether the calling thread flushes subnormals to zero now (to restore it later)."""
    return bool((_subnormal((1,)) * 1.0 == 0).all())


def denormals_flushed() -> bool:
    """Whether every thread that runs convolutions or elementwise ops flushes subnormals.

    A convolution with subnormal weights over a batch that every intra-op thread shares, and
    an elementwise product over 2^20 subnormals (torch splits it over all threads): both give
    exact zeros only where every thread flushes; without it each convolution output is a sum
    of 288 subnormals, a normal float. The two cover torch's own parallel loops and oneDNN's.
    """
    images = torch.ones(2 * torch.get_num_threads(), 32, 16, 16)
    convolved = torch.nn.functional.conv2d(images, _subnormal((32, 32, 3, 3)))
    products = _subnormal((1 << 20,)) * 1.0
    return bool((convolved == 0).all()) and bool((products == 0).all())
