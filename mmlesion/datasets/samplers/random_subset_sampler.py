"""Epochs of a fixed number of random samples: short epochs over a large training set."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

import torch
from mmdet.registry import DATA_SAMPLERS
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler


@DATA_SAMPLERS.register_module()
class RandomSubsetSampler(Sampler):
    """Each epoch, a fresh random subset of ``num_samples`` items (without repetition).

    For training runs whose budget is a few hundred iterations over a large set (the CPU demo's
    enhancer): epochs stay short, so that validation, early stopping and the per-epoch training
    curves keep their meaning, while every epoch draws other images. Distributed like mmengine's
    ``DefaultSampler``: the subset is the same on every rank (a shared seed) and split between
    the ranks.

    Args:
        dataset: the dataset.
        num_samples: items per epoch, at most the dataset's length.
        seed: shared random seed; None draws one and synchronises it across ranks.
    """

    def __init__(self, dataset: Sized, num_samples: int, seed: int | None = None) -> None:
        if num_samples < 1:
            raise ValueError(f'num_samples must be >= 1, got {num_samples}')
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.subset_size = min(num_samples, len(dataset))
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.num_samples = math.ceil(self.subset_size / self.world_size)

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        subset = torch.randperm(len(self.dataset), generator=generator)[: self.subset_size]
        indices = subset.tolist()
        # Round up so that every rank yields the same number of items.
        indices = (indices * math.ceil(self.num_samples * self.world_size / len(indices)))[
            : self.num_samples * self.world_size
        ]
        return iter(indices[self.rank :: self.world_size])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Draw the subset of ``epoch`` (called by mmengine's DistSamplerSeedHook)."""
        self.epoch = epoch
