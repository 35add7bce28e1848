"""The command line's one duration grammar: ``90s``, ``5m``, ``2h``, ``1d`` and sums like ``1h30m``.

A bare number is refused where the unit would be a guess (``silence add --duration 2``: seconds? minutes?);
only a flag whose help names its unit (``demo --duration SECONDS``) reads one, in that unit. Config-file keys keep
their own units (``checkInterval`` seconds, ``alertCooldown`` minutes): this grammar is for flags.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_NUMBER = r"\d+(?:\.\d+)?"
_BARE = re.compile(_NUMBER)
_SUM = re.compile(rf"(?:{_NUMBER}[dhms])+")
_PART = re.compile(rf"({_NUMBER})([dhms])")
EXAMPLES = "90s, 5m, 2h, 1d, 1h30m"


class DurationError(ValueError):
    """Not a duration this grammar reads; the message says what to type instead."""


def parse(text: str, bare: str | None = None) -> float:
    """Seconds (> 0) in ``text``. ``bare`` is the unit of a number without one; None refuses such a number."""
    s = text.strip()
    if _BARE.fullmatch(s):
        if bare is None:
            raise DurationError(f"give a unit: {s}s, {s}m, {s}h")
        value = float(s) * SECONDS[bare]
    elif _SUM.fullmatch(s):
        parts = [(float(n), unit) for n, unit in _PART.findall(s)]
        order = [list(SECONDS).index(unit) for _, unit in parts]
        if order != sorted(set(order)):
            raise DurationError(f"{text!r}: give each unit once, largest first (e.g. 1h30m)")
        value = sum(n * SECONDS[unit] for n, unit in parts)
    else:
        raise DurationError(f"not a duration: {text!r} (use e.g. {EXAMPLES})")
    if value <= 0:
        raise DurationError(f"{text!r}: must be more than 0s")
    return value


def flag(bare: str | None = None) -> Callable[[str], float]:
    """The grammar as an argparse ``type=``: a wrong value is a usage error naming the flag."""

    def duration(text: str) -> float:
        try:
            return parse(text, bare)
        except DurationError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return duration
