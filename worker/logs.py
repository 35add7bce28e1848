"""Logging: JSON lines (or text) with cluster/node/alert fields, and secrets masked on the way out.

Every record passes through ``worker.notify.redact`` before it is written, so a webhook URL or token that slipped
into an exception message still leaves the process as ``access_token=***``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from worker.notify import redact

FIELDS = ("cluster", "node", "rule", "fingerprint", "notification", "receiver", "outcome", "duration_s")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for f in FIELDS:
            if hasattr(record, f):
                out[f] = getattr(record, f)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return redact.redact(json.dumps(out, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{f}={getattr(record, f)}" for f in FIELDS if hasattr(record, f))
        return redact.redact(super().format(record) + (f" [{extra}]" if extra else ""))


def setup(level: str = "info", fmt: str = "json", stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel({"warn": "WARNING"}.get(level, level.upper()))
    # the kubernetes client and urllib3 log request URLs and headers at debug: keep them quiet
    for noisy in ("urllib3", "kubernetes"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
