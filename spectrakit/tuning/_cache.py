"""A small least-recently-used cache for sessions' answers (private).

Sessions keep decompositions and paths per parameter value so that moving a slider back
costs nothing; the cache bounds how many they keep.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable


class LRUCache:
    """At most ``size`` values by key; the least recently used one goes first.

    Examples
    --------
    >>> cache = LRUCache(2)
    >>> cache.get_or_compute("a", lambda: 1), cache.get_or_compute("b", lambda: 2)
    (1, 2)
    >>> cache.get_or_compute("a", lambda: 10)  # a hit: not computed again
    1
    >>> cache.get_or_compute("c", lambda: 3)  # evicts "b", the least recently used
    3
    >>> "b" in cache, len(cache)
    (False, 2)
    """

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()

    def get_or_compute(self, key, compute: Callable[[], Any]):
        """The value kept for ``key``, or ``compute()`` kept for it (a miss)."""
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = compute()
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key) -> bool:
        return key in self._items
