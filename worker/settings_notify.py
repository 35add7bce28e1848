"""Old home of the notification config, kept while callers move: the models and checks are in worker/settings/
(``receivers``, ``routes``, ``urls``, ``notify``); new code imports them from there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.settings.notify import check_urls as check_urls
from worker.settings.notify import validate as validate
from worker.settings.receivers import ReceiverPolicy as ReceiverPolicy
from worker.settings.routes import RouteSettings as RouteSettings
from worker.settings.urls import host_allowed as host_allowed
from worker.settings.urls import host_pattern as host_pattern
from worker.settings.urls import url_problem as url_problem

if TYPE_CHECKING:
    from worker.settings import Settings


def receiver_policies(cfg: Settings) -> dict[str, ReceiverPolicy]:
    return cfg.receiver_policies()


def receiver_params(cfg: Settings) -> dict[str, dict[str, Any]]:
    return cfg.receivers()
