import numpy as np
import pytest
import torch

from mmlesion.enhancement.clahe_tiles import reflect101_index, tile_layout


@pytest.mark.parametrize(('size', 'padded'), [(5, 9), (7, 16), (2, 7), (1, 4), (10, 10)])
def test_reflect101_index_matches_numpy_reflect(size, padded):
    source = np.arange(size)
    expected = np.pad(source, (0, padded - size), mode='reflect' if size > 1 else 'edge')
    assert reflect101_index(size, padded).tolist() == expected.tolist()


def test_divisible_image_is_not_padded():
    layout = tile_layout(64, 32, 8, torch.device('cpu'), torch.float32)
    assert layout.pad_rows is None and layout.pad_cols is None
    assert layout.tile_pixels == 8 * 4


def test_non_divisible_side_pads_both_sides_like_opencv():
    # 37 rows are padded by 8 - 37 % 8 = 3; the divisible 32 columns get a whole extra 8.
    layout = tile_layout(37, 32, 8, torch.device('cpu'), torch.float32)
    assert layout.pad_rows.numel() == 40 and layout.pad_cols.numel() == 40
    assert layout.tile_pixels == 5 * 5
    assert layout.tile_offset.shape == (40, 40)
    tiles = (layout.tile_offset / 256).long()
    assert tiles.unique().numel() == 64
    assert torch.bincount(tiles.flatten()).eq(25).all()


def test_row_weights_vanish_where_opencv_clamps_tile_rows():
    layout = tile_layout(64, 64, 4, torch.device('cpu'), torch.float32)
    weight = layout.row_weight[:, 0]
    # Tile height 16: rows 0..7 sit above the first tile centre, rows 56..63 below the last.
    assert weight[:8].eq(0).all() and weight[56:].eq(0).all()
    assert torch.allclose(weight[8:56], (torch.arange(8, 56) / 16 - 0.5).frac())
