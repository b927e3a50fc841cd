"""Starting the distributed process group for ``tools/train.py`` / ``tools/test.py`` under
``torchrun`` (``--launcher pytorch``), on GPUs (NCCL) and on CPUs (gloo).

mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` whatever the backend, so on a
machine without CUDA every rank dies before gloo is even tried; and its ``wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to ``DistributedDataParallel``, which a CPU model refuses. The
Runner only calls ``init_dist`` when no process group exists yet, and keeps an explicit
``device_ids`` of ``model_wrapper_cfg``: so without CUDA the group is started here, with gloo,
and the wrapper is told to use no device ids. With CUDA nothing changes (mmengine's own path).
"""

from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log

#: The environment torchrun sets for every rank.
TORCHRUN_VARIABLES = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')


def prepare_distributed(cfg: Config) -> None:
    """Start the process group of a ``launcher='pytorch'`` config when the machine has no CUDA.

    Without CUDA: an ``nccl`` backend in ``env_cfg.dist_cfg`` becomes ``gloo`` (NCCL needs GPUs;
    logged), the group starts here from torchrun's environment, and ``model_wrapper_cfg``
    gets ``device_ids=None`` (a CPU model's DistributedDataParallel takes no device ids).

    Raises:
        RuntimeError: ``launcher='pytorch'`` outside torchrun (its variables are named).
    """
    if cfg.get('launcher', 'none') != 'pytorch':
        return
    missing = [v for v in TORCHRUN_VARIABLES if v not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher pytorch needs the environment torchrun sets; {missing} missing. Start '
            'with tools/dist_train.sh / tools/dist_test.sh, or python -m torch.distributed.run'
        )
    if torch.cuda.is_available() or dist.is_initialized():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    backend = dist_cfg.get('backend', 'nccl')
    if backend == 'nccl':
        backend = 'gloo'
        print_log('no CUDA device: distributed backend nccl -> gloo', logger='current')
    dist_cfg['backend'] = backend
    timeout = dist_cfg.get('timeout')
    dist.init_process_group(
        backend=backend,
        timeout=timedelta(seconds=timeout) if timeout is not None else None,
    )
    wrapper = cfg.get('model_wrapper_cfg') or {
        'type': 'MMDistributedDataParallel',
        'broadcast_buffers': False,
        'find_unused_parameters': cfg.get('find_unused_parameters', False),
    }
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper


def close_distributed() -> None:
    """End the process group, if one was started, once every rank has arrived.

    Left to the interpreter's exit, gloo's threads are torn down while still joinable and a
    rank can abort (``terminate called without an active exception``, SIGABRT) after its
    results are written: torchrun then reports the whole run as failed.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
