"""Finished list pages kept as bytes, plain and gzipped, in one LRU bounded by their total size.

A page's bytes are a pure function of its key: the cluster, the resource and its store's resourceVersion (which
moves on every change of that resource, see `cluster.Store`), and everything in the request that shapes the body
(namespace, selectors, limit, continue token, Table or not, and for Tables the clock). A changed object moves the
resourceVersion, so its old pages are never looked up again and age out of the LRU; nothing is invalidated by hand.
Repeated scans of an unchanged cluster then cost a dict lookup instead of a selector pass, a join and a gzip.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from kubesim import encoding


class Page:
    """One page's body, and its gzipped form once a client asked for it."""

    __slots__ = ("plain", "gz")

    def __init__(self, plain: bytes) -> None:
        self.plain = plain
        self.gz: bytes | None = None

    def size(self) -> int:
        return len(self.plain) + (len(self.gz) if self.gz is not None else 0)


class PageCache:
    """LRU by total bytes; `max_bytes` 0 keeps nothing. Safe to share between request threads."""

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

    def put(self, key: Hashable, plain: bytes) -> Page:
        """Keep a freshly rendered body; returned even when it is too big to keep, so callers need no branch."""
        page = Page(plain)
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= old.size()
            if page.size() <= self.max_bytes:
                self._pages[key] = page
                self._bytes += page.size()
                self._evict()
        return page

    def gzipped(self, key: Hashable, page: Page) -> bytes:
        """The page gzipped, compressed once per page (outside the lock: level 1 takes ~3 ms a MB)."""
        if page.gz is not None:
            return page.gz
        gz = encoding.gzipped(page.plain)
        with self._lock:
            if page.gz is None:
                page.gz = gz
                if self._pages.get(key) is page:
                    self._bytes += len(gz)
                    self._evict()
        return page.gz

    def _evict(self) -> None:
        while self._bytes > self.max_bytes and self._pages:
            _, old = self._pages.popitem(last=False)
            self._bytes -= old.size()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "pages": len(self._pages),
                "bytes": self._bytes,
                "max_bytes": self.max_bytes,
                "hits": self.hits,
                "misses": self.misses,
            }
