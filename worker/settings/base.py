"""What every config section shares: strict camelCase models, secrets from a value, a file or a variable,
durations, and rule names checked against the rule registry."""

from __future__ import annotations

import os
import re
import zoneinfo
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from worker.model import rules


class Strict(BaseModel):
    """Unknown keys are errors; keys are camelCase in YAML (snake_case accepted too); values are frozen."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, alias_generator=to_camel, frozen=True)


def read_secret_file(path: str | None) -> str | None:
    if not path:
        return None
    return Path(path).read_text().strip()


def secret(value: SecretStr | None, file: str | None, env: str | None = None) -> str | None:
    """The first of: the value itself, the file's content, the environment variable's value."""
    if value is not None and value.get_secret_value():
        return value.get_secret_value()
    from_file = read_secret_file(file)
    if from_file:
        return from_file
    return os.environ.get(env) or None if env else None


def _spoken(text: str, bare: float) -> float | None:
    """Seconds in "90s", "30m", "4h", "1d"; a bare number counts ``bare`` seconds each; None if not a duration."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not m:
        return None
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "": bare}[m.group(2)]


def duration(v: object) -> object:
    """Seconds from a number (minutes, as the seed's alertCooldown) or a string like 90s, 30m, 4h, 1d."""
    if v is None or isinstance(v, int | float):
        return None if v is None else float(v) * 60
    if isinstance(v, str) and (value := _spoken(v, 60)) is not None:
        return value
    raise ValueError("expected minutes or a duration like 90s, 30m, 4h, 1d")


def seconds(v: object) -> object:
    """Seconds from a number (seconds, as the thresholds' durations) or a string like 90s, 30m, 4h, 1d."""
    if isinstance(v, str):
        value = _spoken(v, 1)
        if value is None:
            raise ValueError("expected seconds or a duration like 90s, 30m, 4h, 1d")
        return value
    return v


def _rule_name(name: str) -> str:
    problem = rules.name_problem(name)
    if problem:
        raise PydanticCustomError("unknown_rule", problem)
    return name


def _rule_pattern(pattern: str) -> str:
    problem = rules.pattern_problem(pattern)
    if problem:
        raise PydanticCustomError("unknown_rule", problem)
    return pattern


# a rule's name (worker/model/rules.py): a typo is an error at load, not an inhibit rule that never applies
RuleName = Annotated[str, AfterValidator(_rule_name)]
# a shell glob over rule names that matches at least one rule (cpu_*, disk_*, node_not_ready)
RulePattern = Annotated[str, AfterValidator(_rule_pattern)]


def _timezone(name: str) -> str:
    """An IANA time zone name (Asia/Shanghai, Europe/Berlin, UTC), checked against the zone database at load."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "unknown_timezone",
            "unknown time zone: give an IANA name like Asia/Shanghai, Europe/Berlin or UTC",
        ) from None
    return name


# a time zone the messages show their times in
TimeZone = Annotated[str, AfterValidator(_timezone)]
