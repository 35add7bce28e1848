"""Per-process handles the tasks share: settings, the Redis-backed stores, an HTTP session."""

from __future__ import annotations

from functools import cache

import requests

from worker import settings
from worker.alerting.deliver import Delivery
from worker.app import redis_url
from worker.state import store


@cache
def stores() -> store.Stores:
    return store.Stores(store.connect(redis_url()))


@cache
def http() -> requests.Session:
    return requests.Session()


def config() -> settings.Settings:
    return settings.current()


def delivery() -> Delivery:
    return Delivery(stores(), config(), http())
