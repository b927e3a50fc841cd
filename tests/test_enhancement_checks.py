import math

import pytest
import torch

from mmlesion.enhancement._checks import (
    check_clip_limit,
    check_grid_size,
    check_images,
    check_levels,
)


def test_check_images_accepts_finite_float_batches():
    check_images(torch.rand(2, 3, 4, 5))
    check_images(torch.rand(1, 1, 1, 1, dtype=torch.float64))


@pytest.mark.parametrize(
    ('x', 'error'),
    [
        (torch.rand(3, 4, 5), ValueError),
        (torch.zeros(2, 1, 4, 4, dtype=torch.uint8), TypeError),
        (torch.rand(0, 1, 4, 4), ValueError),
        (torch.tensor(float('nan')).expand(1, 1, 2, 2), ValueError),
        (torch.tensor(float('inf')).expand(1, 1, 2, 2), ValueError),
        ('not a tensor', TypeError),
    ],
)
def test_check_images_rejects_bad_input(x, error):
    with pytest.raises(error):
        check_images(x)


def test_clip_limit_broadcasts_to_batch():
    like = torch.rand(3, 1, 8, 8)
    assert torch.equal(check_clip_limit(2, 3, like), torch.full((3,), 2.0))
    assert torch.equal(
        check_clip_limit(torch.tensor([1.0, 2.0, 3.0])[:, None], 3, like),
        torch.tensor([1.0, 2.0, 3.0]),
    )
    assert check_clip_limit(torch.tensor(4.0), 3, like).shape == (3,)


@pytest.mark.parametrize('bad', [0.0, -1.0, math.nan, math.inf, torch.tensor([1.0, 0.0])])
def test_clip_limit_rejects_non_positive_and_non_finite(bad):
    with pytest.raises(ValueError, match='clip_limit'):
        check_clip_limit(bad, 2, torch.rand(2, 1, 8, 8))


def test_clip_limit_rejects_wrong_length_and_type():
    with pytest.raises(ValueError):
        check_clip_limit(torch.ones(3), 2, torch.rand(2, 1, 8, 8))
    with pytest.raises(TypeError):
        check_clip_limit('2', 2, torch.rand(2, 1, 8, 8))


def test_grid_size_is_clamped_to_smaller_side_keeping_gradient_inside():
    like = torch.rand(2, 1, 5, 9)
    grid = torch.tensor([3.5, 40.0], requires_grad=True)
    checked = check_grid_size(grid, 2, like)
    assert checked.tolist() == [3.5, 5.0]
    checked.sum().backward()
    assert grid.grad.tolist() == [1.0, 0.0]


@pytest.mark.parametrize('bad', [0, 0.5, -2, math.nan, math.inf])
def test_grid_size_rejects_below_one_and_non_finite(bad):
    with pytest.raises(ValueError, match='grid_size'):
        check_grid_size(bad, 1, torch.rand(1, 1, 8, 8))


def test_check_levels_keeps_none_and_positive_integers():
    assert check_levels(None) is None
    assert check_levels(1) == 1 and check_levels(torch.tensor(3)) == 3


@pytest.mark.parametrize(
    ('levels', 'error'), [(0, ValueError), (True, ValueError), (1.0, TypeError)]
)
def test_check_levels_rejects_what_the_native_kernel_refuses(levels, error):
    with pytest.raises(error, match='levels must be an integer >= 1'):
        check_levels(levels)
