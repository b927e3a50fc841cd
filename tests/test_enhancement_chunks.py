import torch

from mmlesion.enhancement import _chunks, glcae
from mmlesion.enhancement._chunks import map_chunks


def test_map_chunks_splits_cpu_batches_and_concatenates(monkeypatch):
    monkeypatch.setattr(_chunks, 'CPU_CHUNK_PIXELS', 2 * 4 * 5)
    sizes = []

    def fn(x, scale):
        sizes.append(x.shape[0])
        return x * scale[:, None, None], scale + 1

    x, scale = torch.rand(5, 4, 5), torch.arange(5.0)
    out, shifted = map_chunks(fn, x, scale)
    assert sizes == [2, 2, 1]
    assert torch.equal(out, x * scale[:, None, None]) and torch.equal(shifted, scale + 1)


def test_glcae_does_not_depend_on_chunking(monkeypatch):
    x = torch.rand(5, 2, 24, 20)
    clip, grid = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]), torch.tensor([2.0, 3.0, 2.5, 4.0, 8.0])
    whole = glcae(x, clip, grid)
    monkeypatch.setattr(_chunks, 'CPU_CHUNK_PIXELS', 3 * 24 * 20)
    assert torch.allclose(glcae(x, clip, grid), whole, atol=1e-6)
