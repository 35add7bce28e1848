"""Per-process handles the tasks share: settings, the Redis-backed store, an HTTP session."""

from __future__ import annotations

from functools import cache

import requests

from worker import settings
from worker.app import redis_url
from worker.state import store as state_store


@cache
def store() -> state_store.Store:
    return state_store.Store(state_store.connect(redis_url()))


@cache
def http() -> requests.Session:
    return requests.Session()


def config() -> settings.Settings:
    return settings.current()
