from .random_subset_sampler import RandomSubsetSampler

__all__ = ['RandomSubsetSampler']
