"""Response compression as kube-apiserver negotiates it: gzip at level 1 for bodies over 128 KiB, when asked.

From `staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/` (writers.go, compression.go):
a body whose first write is longer than `defaultGzipThresholdBytes` (128 * 1024) is gzipped when the request's
`Accept-Encoding` lists the token `gzip` (split on commas, trimmed, compared exactly, so `gzip;q=0.5` does not
count), with `Content-Encoding: gzip` and `Vary: Accept-Encoding` added; smaller bodies and watch streams are
sent as they are. Level 1 (BestSpeed) because it costs least CPU for a ratio within ~1.3x of the best
(kubernetes/kubernetes#112296).
"""

from __future__ import annotations

import gzip

THRESHOLD = 128 * 1024
LEVEL = 1


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether a request's Accept-Encoding asks for gzip, read as the API server reads it."""
    return any(token.strip() == "gzip" for token in accept_encoding.split(","))


def worth_gzipping(size: int) -> bool:
    return size > THRESHOLD


def gzipped(body: bytes) -> bytes:
    # mtime=0 as Go's gzip.Writer writes it, which also makes the bytes of a page the same each time it is
    # compressed; with mtime=0 Python hands the whole body to one zlib call, which runs without the GIL
    return gzip.compress(body, compresslevel=LEVEL, mtime=0)
