"""How error and log messages list many items: a count and the first few."""

from __future__ import annotations

from collections.abc import Sequence

#: How many items a message names before it writes ``...``.
SHOWN_ITEMS = 5


def first_items(items: Sequence[str]) -> str:
    """The first :data:`SHOWN_ITEMS` of ``items``, comma-separated, with `` ...`` when there are
    more: ``'a, b, c, d, e ...'``."""
    more = ' ...' if len(items) > SHOWN_ITEMS else ''
    return ', '.join(str(item) for item in items[:SHOWN_ITEMS]) + more


def count_and_first(items: Sequence[str]) -> str:
    """``'N (a, b, c, d, e ...)'``: how many ``items`` there are, and the first ones."""
    return f'{len(items)} ({first_items(items)})'
