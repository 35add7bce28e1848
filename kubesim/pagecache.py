"""Finished list pages kept as the bytes sent, plain or gzipped, in one LRU bounded by their total size.

A page's bytes are a pure function of its key: the cluster, the resource and its store's resourceVersion (which
moves on every change of that resource, see `cluster.Store`), everything in the request that shapes the body
(namespace, selectors, limit, continue token, Table or not, and for Tables the clock) and the encoding the client
accepts. A changed object moves the resourceVersion, so its old pages are never looked up again and age out of the
LRU; nothing is invalidated by hand. Repeated scans of an unchanged cluster then cost a dict lookup instead of a
selector pass, a join and a gzip. Each encoding is kept only once a client asked for it, so a collector that asks
for gzip costs the cache ~1/16 of the plain size (JSON of pods compresses about 16:1 at level 1).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """A body as sent: `body` is gzipped when `gzipped`, and `raw_size` is its size before compression."""

    body: bytes
    raw_size: int
    gzipped: bool = False


class PageCache:
    """LRU by total bytes; `max_bytes` 0 keeps nothing. Safe to share between request threads.

    A scan only hits when all its pages fit: a cache smaller than one scan's pages evicts each page before the
    next scan asks for it again (150,000 pods: ~360 MB plain, ~23 MB gzipped)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Hashable, Page] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                self.misses += 1
                return None
            self.hits += 1
            self._pages.move_to_end(key)
            return page

    def peek(self, key: Hashable) -> Page | None:
        """A page if kept, without counting a hit or a miss or refreshing it (to reuse its plain form)."""
        with self._lock:
            return self._pages.get(key)

    def put(self, key: Hashable, page: Page) -> None:
        """Keep a page, unless it alone is larger than the cache."""
        size = len(page.body)
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            if size > self.max_bytes:
                return
            self._pages[key] = page
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._pages.popitem(last=False)
                self._bytes -= len(evicted.body)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "pages": len(self._pages),
                "bytes": self._bytes,
                "max_bytes": self.max_bytes,
                "hits": self.hits,
                "misses": self.misses,
            }
