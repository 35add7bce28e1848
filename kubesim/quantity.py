"""Kubernetes resource quantities: parse the wire formats and render them the way real components do."""

from __future__ import annotations

import re
from decimal import Decimal

_SUFFIX: dict[str, Decimal] = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


def parse(value: str | int | float) -> Decimal:
    """Parse a quantity ("100m", "0.5", "128Mi", "5M", "1e3") into its base unit (cores, bytes)."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.match(value.strip())
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    return Decimal(match.group(1)) * _SUFFIX[match.group(2) or ""]


def millicores(value: str | int | float) -> int:
    return int(parse(value) * 1000)


def to_bytes(value: str | int | float) -> int:
    return int(parse(value))


def cpu_cores(milli: int) -> str:
    """Render CPU the way kubelets report capacity: whole cores as "4", otherwise "3920m"."""
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"
