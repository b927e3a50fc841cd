"""Output files that are either the old version or the new one, never a truncated mix.

Every writer here goes through :func:`atomic_write_bytes`: the data goes to a temporary file in
the destination's folder (so that the rename stays on one file system), is flushed and fsynced,
and only then ``os.replace``\\ s the destination. A failure at any point (a full disk, an
interrupted process) leaves the previous file as it was and removes the temporary. The folder is
fsynced after the rename where the platform allows, so that the new name survives a power cut.
"""

from __future__ import annotations

import io
import json
import os
import secrets
from pathlib import Path
from typing import Any

import cv2
import numpy as np

# The temporaries start with a dot, so that a folder listing or a glob of outputs skips them.
_TEMP_FORMAT = '.{name}.{token}.tmp'


def _create_temp(destination: Path) -> tuple[int, Path]:
    """A new, empty file beside ``destination``, opened for writing; the mode is what a plain
    ``open(..., 'w')`` would give (0o666 less the umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_BINARY', 0)
    while True:
        temp = destination.with_name(
            _TEMP_FORMAT.format(name=destination.name, token=secrets.token_hex(4))
        )
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue


def _fsync_folder(folder: Path) -> None:
    """Best effort: the file is already in place, so a folder that cannot be fsynced (Windows,
    some network file systems) only loses the guarantee against a power cut."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes | bytearray | memoryview) -> Path:
    """Replace ``path`` with ``data`` atomically (see the module docstring).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OSError: the write, the fsync or the rename failed; ``path`` is untouched and no
            temporary file is left behind.
    """
    destination = Path(path)
    fd, temp = _create_temp(destination)
    try:
        try:
            view = memoryview(data).cast('B')
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, destination)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(destination.parent)
    return destination


def atomic_write_text(path: str | Path, text: str, encoding: str = 'utf-8') -> Path:
    """Replace ``path`` with ``text`` (``encoding``) atomically; newlines are written as given."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | Path, value: Any, **dumps_options) -> Path:
    """Replace ``path`` with ``json.dumps(value, **dumps_options)`` atomically (UTF-8).

    The whole text is serialised before the file is touched, so a value that cannot be written
    (a NaN with ``allow_nan=False``, an unknown type) leaves the previous file as it was.
    """
    return atomic_write_text(path, json.dumps(value, **dumps_options))


def atomic_write_image(
    path: str | Path, image: np.ndarray, params: list[int] | tuple[int, ...] = ()
) -> Path:
    """Replace ``path`` with ``image`` encoded by ``cv2.imencode`` in the format its extension
    names (``.png``, ``.jpg``, ...), atomically.

    Args:
        path: the image file; its suffix chooses the encoder.
        image: ``(H, W)`` or ``(H, W, C)`` (BGR / BGRA) in a dtype that encoder accepts.
        params: ``cv2.imencode`` flags, e.g. ``(cv2.IMWRITE_PNG_COMPRESSION, 1)``.

    Raises:
        ValueError: ``path`` has no image suffix or OpenCV could not encode ``image`` in it.
    """
    destination = Path(path)
    if not destination.suffix:
        raise ValueError(f'{destination}: no suffix to choose an image format from')
    try:
        ok, encoded = cv2.imencode(destination.suffix, image, list(params))
    except cv2.error as error:
        raise ValueError(
            f'{destination}: cannot encode a {image.dtype} image of shape {image.shape} as '
            f'{destination.suffix}: {error}'
        ) from error
    if not ok:
        raise ValueError(
            f'{destination}: OpenCV refused to encode a {image.dtype} image of shape '
            f'{image.shape} as {destination.suffix}'
        )
    return atomic_write_bytes(destination, encoded.tobytes())


def atomic_write_figure(path: str | Path, figure: Any, **savefig_options) -> Path:
    """Replace ``path`` with a matplotlib ``figure`` rendered in the format its suffix names
    (``.png``, ``.pdf``, ``.svg``), atomically; ``savefig_options`` go to ``figure.savefig``."""
    destination = Path(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=destination.suffix.lstrip('.') or None, **savefig_options)
    return atomic_write_bytes(destination, buffer.getbuffer())
