"""Reading pickled predictions without running code from the file.

mmdet's ``DumpDetResults`` (``tools/test.py --out``) writes a list of dicts of tensors, numpy
arrays and builtins with ``pickle``. ``pickle.load`` of such a file would call any function the
file names; :func:`load_predictions` reads it with an unpickler that builds only those types.
"""

from __future__ import annotations

import io
import os
import pickle
from collections import OrderedDict
from typing import BinaryIO

import numpy as np
import torch

from .checkpoint_loading import refused_global


class PredictionsError(ValueError):
    """A predictions file that is refused or cannot be read; the message names it."""


class _Refused(pickle.UnpicklingError):
    """The pickle names a global outside :data:`PREDICTION_GLOBALS` (the message is its name)."""


def _storage_from_bytes(data: bytes):
    """torch's pickled storage (``torch.storage._load_from_bytes``), read weights-only: torch's
    own function reads this inner pickle with ``weights_only=False``."""
    try:
        return torch.load(io.BytesIO(data), weights_only=True)
    except pickle.UnpicklingError as error:
        raise _Refused(refused_global(str(error)) or 'a global in a tensor storage') from None


def _encode_latin1(text: str, encoding: str = 'utf-8') -> bytes:
    """``_codecs.encode`` as pickle protocol 2 uses it for bytes (latin-1 only)."""
    if encoding not in ('latin1', 'latin-1'):
        raise pickle.UnpicklingError(f'_codecs.encode with {encoding!r} is not allowed')
    return text.encode('latin1')


#: Every global a predictions pickle may name, by its (module, name) in the file; pickle
#: protocol 2 writes Python 2 names (``__builtin__``). Nothing here runs code when called.
PREDICTION_GLOBALS = {
    ('torch._utils', '_rebuild_tensor_v2'): torch._utils._rebuild_tensor_v2,
    ('torch.storage', '_load_from_bytes'): _storage_from_bytes,
    ('collections', 'OrderedDict'): OrderedDict,
    ('numpy', 'ndarray'): np.ndarray,
    ('numpy', 'dtype'): np.dtype,
    ('numpy.core.multiarray', '_reconstruct'): np.core.multiarray._reconstruct,
    ('numpy.core.multiarray', 'scalar'): np.core.multiarray.scalar,
    # numpy >= 2 writes its core module under this name.
    ('numpy._core.multiarray', '_reconstruct'): np.core.multiarray._reconstruct,
    ('numpy._core.multiarray', 'scalar'): np.core.multiarray.scalar,
    ('_codecs', 'encode'): _encode_latin1,
    ('builtins', 'set'): set,
    ('__builtin__', 'set'): set,
    ('builtins', 'frozenset'): frozenset,
    ('__builtin__', 'frozenset'): frozenset,
    ('builtins', 'complex'): complex,
    ('__builtin__', 'complex'): complex,
}


class _PredictionUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        found = PREDICTION_GLOBALS.get((module, name))
        if found is None:
            raise _Refused(f'{module}.{name}')
        return found


def load_predictions(source: str | os.PathLike | BinaryIO):
    """Read a pickled predictions file (``DumpDetResults``) without running code from it.

    Only tensors, numpy arrays, dtypes and scalars, and builtin containers and values are
    built.

    Args:
        source: the file's path, or the file opened in binary mode.

    Raises:
        FileNotFoundError: no such file.
        PredictionsError: the file names another type (the message names it; such a file could
            run code), or is not a pickle.
    """
    if not hasattr(source, 'read'):
        with open(source, 'rb') as f:
            return load_predictions(f)
    name = getattr(source, 'name', 'the predictions file')
    try:
        return _PredictionUnpickler(source).load()
    except _Refused as error:
        raise PredictionsError(
            f'{name}: refused to read these predictions: the pickle asks for {error}, which is '
            'not a tensor, numpy array or builtin value and could run code while it is read'
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError) as error:
        raise PredictionsError(
            f'{name} is not a readable predictions pickle ({type(error).__name__}: {error})'
        ) from None
