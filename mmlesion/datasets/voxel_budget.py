"""The largest image a reader allocates: a size declared in a header is checked before any pixel
is read, so that a corrupt or hostile file (a PNG declaring 60000 x 60000 pixels, a NIfTI
declaring 30000 x 30000 x 3000 voxels) is refused with its name instead of exhausting memory."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

#: Voxels a reader allocates at most unless told otherwise (``max_voxels=``): 2000 slices of
#: 512 x 512 pixels, a long CT series; 2 GiB as float32 HU. A single PNG slice gets the same
#: budget.
MAX_VOXELS = 512 * 512 * 2000


def check_voxel_budget(
    shape: Sequence[int], source: str | Path, max_voxels: int = MAX_VOXELS
) -> None:
    """Raise unless an image of ``shape`` (as its header declares it) fits ``max_voxels``.

    Args:
        shape: the declared size, e.g. ``(height, width)`` or ``(slices, rows, columns)``.
        source: the file or folder, for the message.
        max_voxels: the budget, voxels (pixels of a 2-D image).

    Raises:
        ValueError: naming ``source``, the declared size and the budget.
    """
    count = math.prod(int(n) for n in shape)
    if count > max_voxels:
        size = ' x '.join(str(int(n)) for n in shape)
        raise ValueError(
            f'{source}: the header declares {size} = {count} voxels, more than the budget of '
            f'{max_voxels}; refused before reading any pixel (a corrupt file?). Pass '
            'max_voxels= to read a larger image on purpose'
        )
