"""Atomic output files: the previous file survives a write that fails midway."""

from __future__ import annotations

import errno
import json
import os

import cv2
import numpy as np
import pytest

from mmlesion.utils import (
    atomic_write_bytes,
    atomic_write_figure,
    atomic_write_image,
    atomic_write_json,
    atomic_write_text,
)


def test_each_writer_replaces_the_file_and_leaves_no_temporary(tmp_path):
    atomic_write_bytes(tmp_path / 'a.bin', b'\x00\x01')
    atomic_write_text(tmp_path / 'a.txt', 'first')
    atomic_write_text(tmp_path / 'a.txt', 'déjà\r\n')
    atomic_write_json(tmp_path / 'a.json', {'x': [1, 2]}, indent=1)
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    atomic_write_image(tmp_path / 'a.png', image)
    assert (tmp_path / 'a.bin').read_bytes() == b'\x00\x01'
    assert (tmp_path / 'a.txt').read_bytes() == 'déjà\r\n'.encode()
    assert json.loads((tmp_path / 'a.json').read_text()) == {'x': [1, 2]}
    assert np.array_equal(cv2.imread(str(tmp_path / 'a.png'), cv2.IMREAD_UNCHANGED), image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.bin', 'a.json', 'a.png', 'a.txt']


def test_new_file_gets_the_mode_of_a_plain_open(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / 'a.txt', 'x')
    finally:
        os.umask(old)
    assert (tmp_path / 'a.txt').stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    'write',
    [
        lambda p: atomic_write_bytes(p, b'new' * 1000),
        lambda p: atomic_write_text(p, 'new' * 1000),
        lambda p: atomic_write_json(p, {'new': list(range(1000))}),
        lambda p: atomic_write_image(p, np.full((64, 64), 7, np.uint8)),
    ],
    ids=['bytes', 'text', 'json', 'image'],
)
def test_a_full_disk_midway_leaves_the_previous_file(tmp_path, full_disk, write):
    path = tmp_path / 'out.png'
    path.write_bytes(b'previous')
    full_disk('out.png')
    with pytest.raises(OSError) as error:
        write(path)
    assert error.value.errno == errno.ENOSPC
    assert path.read_bytes() == b'previous'
    assert [p.name for p in tmp_path.iterdir()] == ['out.png']


def test_a_value_that_cannot_be_written_leaves_the_previous_file(tmp_path):
    json_path, png_path = tmp_path / 'a.json', tmp_path / 'a.png'
    json_path.write_text('{"valid": true}')
    png_path.write_bytes(b'previous')
    with pytest.raises(ValueError):
        atomic_write_json(json_path, {'x': float('nan')}, allow_nan=False)
    with pytest.raises(ValueError, match=r'a\.png'):
        atomic_write_image(png_path, np.zeros((2, 2, 7), np.float64))
    assert json_path.read_text() == '{"valid": true}'
    assert png_path.read_bytes() == b'previous'


def test_figure_is_rendered_in_the_format_of_its_suffix(tmp_path):
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1])
    atomic_write_figure(tmp_path / 'f.png', fig, dpi=20)
    atomic_write_figure(tmp_path / 'f.svg', fig)
    plt.close(fig)
    assert (tmp_path / 'f.png').read_bytes().startswith(b'\x89PNG')
    assert b'<svg' in (tmp_path / 'f.svg').read_bytes()
