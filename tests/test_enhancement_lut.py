import torch

from mmlesion.enhancement.lut import apply_lut, normalized_rows, sample_luts


def _tables(n, rows=1, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    tables = torch.rand(n, rows, 256, generator=generator, dtype=dtype).cumsum(-1)
    return tables / tables[..., -1:]


def test_uint8_inputs_read_their_entries_exactly():
    tables = _tables(2)[:, 0].float()
    levels = torch.randint(0, 256, (2, 9, 7))
    x = levels.float() / 255
    expected = torch.stack([tables[n][levels[n]] for n in range(2)])
    assert torch.allclose(apply_lut(tables, x), expected, atol=1e-6)
    assert torch.allclose(sample_luts(tables[:, None, None], x)[:, 0], expected, atol=1e-5)


def test_reads_are_linear_between_levels_and_clamped_outside():
    table = torch.linspace(0, 1, 256, dtype=torch.float64)[None] ** 2
    x = torch.tensor([[[-0.3, 0.0, 10.3 / 255, 1.0, 1.4]]], dtype=torch.float64)
    expected = torch.tensor([0.0, 0.0, 0.7 * table[0, 10] + 0.3 * table[0, 11], 1.0, 1.0])
    assert torch.allclose(apply_lut(table, x)[0, 0], expected.double())


def test_sample_luts_blends_rows_and_reads_all_channels():
    tables = _tables(1, rows=3)
    stacks = torch.stack((tables[0], 1 - tables[0]))[None]
    x = torch.full((1, 1, 2), 100 / 255, dtype=torch.float64)
    rows = normalized_rows(torch.tensor([[0.5, 2.0]], dtype=torch.float64), 3)
    out = sample_luts(stacks, x, rows)
    first = 0.5 * (tables[0, 0, 100] + tables[0, 1, 100])
    assert torch.allclose(out[0, 0, 0], torch.stack((first, tables[0, 2, 100])))
    assert torch.allclose(out[0, 1], 1 - out[0, 0])


def test_gradients_reach_image_and_tables():
    tables = _tables(2)[:, 0].requires_grad_(True)
    x = ((torch.randint(0, 255, (2, 4, 5)) + 0.2 + 0.6 * torch.rand(2, 4, 5)) / 255).double()
    assert torch.autograd.gradcheck(apply_lut, (tables, x.requires_grad_(True)))
    stacks = tables.detach()[:, None, None].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s, v: sample_luts(s, v), (stacks, x))
