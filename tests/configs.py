"""Config the tests share.

nodewatch's defaults wait before they page (``usageFor`` 540 s, ``notReadyFor`` 150 s, ``pressureFor`` 300 s) and
before they resolve (``noise.keepFiringFor`` 600 s); tests/integration/replay measures that timing. A test of one
other mechanism (a silence, a storm, a channel, a cluster source) asks instead for the seed sketch's timing: fire
on the first scan that sees a condition, resolve on the first that does not, so it needs no simulated hours.
"""

from __future__ import annotations

from typing import Any

from worker.settings.receivers import BY_KIND, Endpoint, Receiver

IMMEDIATE_THRESHOLDS: dict[str, float] = {
    "usageFor": 0,
    "usageWarningFor": 0,
    "diskWarningFor": 0,
    "notReadyFor": 0,
    "pressureFor": 0,
}
IMMEDIATE_NOISE: dict[str, float] = {"keepFiringFor": 0}


def immediate(cfg: dict[str, Any]) -> dict[str, Any]:
    """``cfg`` with the immediate timing underneath whatever it sets itself."""
    out = dict(cfg)
    out["thresholds"] = IMMEDIATE_THRESHOLDS | dict(cfg.get("thresholds") or {})
    out["noise"] = IMMEDIATE_NOISE | dict(cfg.get("noise") or {})
    return out


def endpoint(kind: str, url: str, lang: str = "zh", name: str = "", **options: Any) -> Endpoint[Any]:
    """A receiver's endpoint from plain values, its options checked by the kind's settings model as a config
    file's would be (``secret``, ``keyword``, ``atMobiles``, ``body``, ...): what a channel is made from."""
    receiver: Receiver = BY_KIND[kind].model_validate(
        {**options, "kind": kind, "name": name or kind, "url": url}
    )
    return Endpoint(receiver, url, lang)
