"""Celery tasks: thin shells that load settings, call the rooms in worker/ and enqueue the next step.

``tasks.dispatch`` (queue control) -> ``tasks.scan_cluster`` (queue scan) -> ``tasks.notify`` (queue notify).
Arguments are cluster names, notification ids and receiver names only: Flower shows them to everyone.
"""

from __future__ import annotations

from typing import Any

from celery import signals

from worker import logs, settings


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    cfg = settings.current()
    logs.setup(cfg.log_level, cfg.log_format)
