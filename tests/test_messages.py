"""Messages list many items the same way everywhere: a count and the first five."""

from mmlesion.datasets.dl_info import BoxRepairs
from mmlesion.utils.messages import count_and_first, first_items


def test_five_items_are_all_shown_and_a_sixth_adds_dots():
    assert first_items(list('abcde')) == 'a, b, c, d, e'
    assert first_items(list('abcdef')) == 'a, b, c, d, e ...'
    assert count_and_first(list('abcdef')) == '6 (a, b, c, d, e ...)'
    assert count_and_first([]) == '0 ()'


def test_box_repairs_name_five_dropped_files_without_dots():
    names = tuple(f'{i:03d}.png' for i in range(5))
    described = BoxRepairs(0, 5, names).describe('DL_info.csv')
    assert described.endswith('(000.png, 001.png, 002.png, 003.png, 004.png)')
    assert BoxRepairs(0, 6, (*names, '005.png')).describe('DL_info.csv').endswith('004.png ...)')
