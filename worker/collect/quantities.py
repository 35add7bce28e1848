"""Kubernetes quantities ("3920m", "15991140Ki", "1e3") read exactly: the common spellings in integers, the rest
through the client's ``parse_quantity``; ResourceLists as ``Resources``. Pure."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from kubernetes.utils.quantity import parse_quantity

from worker.collect.document import Malformed, mapping
from worker.model import Resources

# Kubernetes stores quantities in int64 (about 9.2e18): anything past 1e30 units is no amount of a resource, and
# refusing it keeps every later sum finite (Decimal("1e999999") * 1000 overflows; float() of it is inf)
MAX_QUANTITY = 10**30


def quantity(value: object) -> Decimal:
    """A Kubernetes quantity ("3920m", "15991140Ki", "1e3", 2) as an exact Decimal. NaN, infinities and
    amounts past ``MAX_QUANTITY`` are ``Malformed`` like any other bad quantity."""
    if isinstance(value, bool) or value is None:
        raise Malformed(f"bad quantity {_shown(value)}")
    try:
        result = parse_quantity(value)  # type: ignore[no-untyped-call]
    except (ValueError, TypeError, ArithmeticError) as exc:  # ArithmeticError: every decimal signal
        raise Malformed(f"bad quantity {_shown(value)}") from exc
    assert isinstance(result, Decimal)
    if not result.is_finite() or result.copy_abs() > MAX_QUANTITY:  # copy_abs: no context, no Overflow
        raise Malformed(f"bad quantity {_shown(value)}: out of range")
    return result


def _shown(value: object) -> str:
    """A bad value as an error message shows it: its repr, cut (a node's message must not carry a megabyte)."""
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


# The hot path reads ~10 quantities per pod and per node. The common spellings (an integer with an SI or binary
# suffix) are computed exactly in integers; anything else ("1.5Gi", "1e3") goes through the client's
# ``parse_quantity`` (Decimal) once per distinct string. Values are in milli-units: millicores, millibytes.
_MILLI_PER_UNIT = {
    "": 1000,
    "m": 1,
    "k": 10**6,
    "M": 10**9,
    "G": 10**12,
    "T": 10**15,
    "P": 10**18,
    "E": 10**21,
    "Ki": 1000 * 2**10,
    "Mi": 1000 * 2**20,
    "Gi": 1000 * 2**30,
    "Ti": 1000 * 2**40,
    "Pi": 1000 * 2**50,
    "Ei": 1000 * 2**60,
}


_INTEGER_QUANTITY = re.compile(r"([0-9]{1,30})(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")


_SLOW_MILLI: dict[str, int] = {}


_SLOW_CACHE_MAX = 65536


_MAX_MILLI = MAX_QUANTITY * 1000


def milli(value: object) -> int:
    """A quantity in milli-units, rounded up like the API server's ``MilliValue()`` (so "1n" cpu is 1m)."""
    if isinstance(value, str):
        m = _INTEGER_QUANTITY.fullmatch(value)
        if m is not None:
            fast = int(m.group(1)) * _MILLI_PER_UNIT[m.group(2) or ""]
            if fast > _MAX_MILLI:
                raise Malformed(f"bad quantity {_shown(value)}: out of range")
            return fast
        cached = _SLOW_MILLI.get(value)
        if cached is not None:
            return cached
        result = math.ceil(quantity(value) * 1000)
        if len(_SLOW_MILLI) < _SLOW_CACHE_MAX:
            _SLOW_MILLI[value] = result
        return result
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_QUANTITY:
        return value * 1000
    return math.ceil(quantity(value) * 1000)


_NANO_OR_MICRO = re.compile(r"([0-9]{1,30})([nu])")


def cpu_millis(value: object) -> float:
    """cpu in millicores; exact for metrics' nanocores ("487558164n" -> 487.558164)."""
    if isinstance(value, str) and (m := _NANO_OR_MICRO.fullmatch(value)) is not None:
        # ASCII digits only: str.isdigit() takes "²", which int() refuses
        return int(m.group(1)) / (1_000_000 if m.group(2) == "n" else 1_000)
    if isinstance(value, str) and _INTEGER_QUANTITY.fullmatch(value):
        return float(milli(value))
    return float(quantity(value) * 1000)


def byte_count(value: object) -> int:
    # the API server rounds fractional byte quantities up (Quantity.Value()), so do the same
    return -(-milli(value) // 1000)


def resources(raw: object, what: str) -> Resources:
    """A ResourceList (capacity/allocatable/requests) as a Resources vector; other names are ignored."""
    data = mapping(raw, what)
    key = "cpu"
    try:
        cpu = cpu_millis(data[key]) if key in data else 0.0
        key = "memory"
        memory = byte_count(data[key]) if key in data else 0
        key = "ephemeral-storage"
        ephemeral = byte_count(data[key]) if key in data else 0
        key = "pods"
        pods = milli(data[key]) // 1000 if key in data else 0
    except Malformed as exc:
        raise Malformed(f"{what}.{key}: {exc}", f"{what}.{key}") from exc
    return Resources(cpu_m=cpu, memory=memory, ephemeral_storage=ephemeral, pods=pods)
