"""What ``nodewatch config check`` finds beyond a load error: the mistakes a person makes in a file that loads.

Loading already refuses unknown keys, unknown rules in inhibit rules and routes naming unknown receivers. These
checks are for a file that is valid but does not do what its author meant: a warning threshold at or above its
critical one (the warning never fires), a bare number where the unit is a guess, no receiver at all (nothing is
delivered). Pure: the loaded settings and the file's raw mapping in, problems out, each naming its key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from worker import settings
from worker.model.thresholds import Thresholds
from worker.settings.thresholds import apply

# unitless numbers read in seconds: below this a person probably meant minutes (the defaults are minutes long)
SECONDS_KEYS_MIN = 10.0
MINUTES_KEYS_MAX = 1440.0  # alertCooldown in minutes: more than a day is probably seconds


@dataclass(frozen=True)
class Problem:
    key: str
    message: str
    error: bool  # True: the file does not do what it says (exit 2); False: a warning

    def line(self) -> str:
        return f"{'error' if self.error else 'warning'}: {self.key}: {self.message}"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _pairs() -> list[tuple[str, str]]:
    names = [f.name for f in dataclasses.fields(Thresholds)]
    return [(n, n.replace("_warning", "_critical")) for n in names if n.endswith("_warning")]


def _scopes(cfg: settings.Settings) -> Iterator[tuple[str, Thresholds, BaseModel | None]]:
    """Each place thresholds are set: its key, the thresholds in effect there, the overrides it sets."""
    base = cfg.base_thresholds
    yield "thresholds", base, cfg.thresholds
    for name, profile in cfg.threshold_profiles.items():
        yield f"thresholdProfiles.{name}", apply(base, profile), profile
    for i, c in enumerate(cfg.clusters):
        t = apply(base, cfg.threshold_profiles.get(c.threshold_profile)) if c.threshold_profile else base
        yield f"clusters.{i}.thresholds ({c.name})", apply(t, c.thresholds), c.thresholds
    for i, g in enumerate(cfg.node_groups):
        yield f"nodeGroups.{i}.thresholds ({g.name})", apply(base, g.thresholds), g.thresholds


def thresholds(cfg: settings.Settings) -> list[Problem]:
    """A warning at or above its critical never fires as a warning: the alert jumps straight to critical."""
    out = []
    for key, t, own in _scopes(cfg):
        set_here = {k for k, v in (own.model_dump() if own is not None else {}).items() if v is not None}
        for warn, crit in _pairs():
            if (warn in set_here or crit in set_here) and getattr(t, warn) >= getattr(t, crit):
                out.append(
                    Problem(
                        key,
                        f"{_camel(warn)} {getattr(t, warn):g} is not below {_camel(crit)} {getattr(t, crit):g}: "
                        "the warning would never fire",
                        error=True,
                    )
                )
    return out


def _routes(raw: Mapping[str, Any], path: str = "route") -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield path, raw
    for i, child in enumerate(raw.get("routes") or []):
        if isinstance(child, Mapping):
            yield from _routes(child, f"{path}.routes.{i}")


def units(raw: Mapping[str, Any]) -> list[Problem]:
    """Bare numbers whose unit a reader would guess wrong."""
    out = []
    route = raw.get("route")
    if isinstance(route, Mapping):
        for path, node in _routes(route):
            v = node.get("repeatInterval")
            if isinstance(v, int | float) and not isinstance(v, bool):
                out.append(
                    Problem(
                        f"{path}.repeatInterval",
                        f"{v:g} has no unit and reads as {v:g} minutes; write {v:g}m (or 90s, 4h, 1d)",
                        error=False,
                    )
                )
    cooldown = raw.get("alertCooldown")
    if isinstance(cooldown, int | float) and cooldown > MINUTES_KEYS_MAX:
        out.append(
            Problem(
                "alertCooldown",
                f"{cooldown:g} is in minutes ({cooldown / 1440:.1f} days); if you meant seconds, write "
                f"{cooldown / 60:g}",
                error=False,
            )
        )
    for scope, values in _threshold_maps(raw):
        for key, v in values.items():
            if key.endswith("For") and isinstance(v, int | float) and 0 < v < SECONDS_KEYS_MIN:
                out.append(
                    Problem(
                        f"{scope}.{key}",
                        f"{v:g} is in seconds; if you meant minutes, write {v:g}m",
                        error=False,
                    )
                )
    return out


def _threshold_maps(raw: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if isinstance(raw.get("thresholds"), Mapping):
        yield "thresholds", raw["thresholds"]
    for name, t in (raw.get("thresholdProfiles") or {}).items():
        if isinstance(t, Mapping):
            yield f"thresholdProfiles.{name}", t
    for section in ("clusters", "nodeGroups"):
        for i, item in enumerate(raw.get(section) or []):
            if isinstance(item, Mapping) and isinstance(item.get("thresholds"), Mapping):
                yield f"{section}.{i}.thresholds", item["thresholds"]


def receivers(cfg: settings.Settings) -> list[Problem]:
    if cfg.endpoints():
        return []
    return [
        Problem(
            "receivers",
            "none configured (slack, dingtalk, wecom or receivers:): alerts are recorded but nothing is delivered",
            error=False,
        )
    ]


def check(cfg: settings.Settings, raw: Mapping[str, Any]) -> list[Problem]:
    return [*thresholds(cfg), *units(raw), *receivers(cfg)]
