"""Property: the quantity readers agree with the exact Decimal parse on every valid Kubernetes quantity (the
integer fast paths included), and any other value is ``document.Malformed``, never another exception."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from helpers_property import PROPERTY, json_values
from hypothesis import given
from hypothesis import strategies as st

from worker.collect import document, quantities

SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    **{s: Decimal(2) ** (10 * (i + 1)) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
}
numbers = st.from_regex(r"[0-9]{1,18}(\.[0-9]{0,6})?|\.[0-9]{1,6}", fullmatch=True)
signs = st.sampled_from(["", "", "+", "-"])
suffixes = st.sampled_from(sorted(SUFFIX)) | st.integers(-12, 40).map(lambda e: f"e{e}")


def exact(sign: str, number: str, suffix: str) -> Decimal:
    """The quantity's value computed here, independently of the client's parser."""
    scale = Decimal(10) ** int(suffix[1:]) if suffix.startswith("e") else SUFFIX[suffix]
    return Decimal(f"{sign or '+'}{number}") * scale


@PROPERTY
@given(sign=signs, number=numbers, suffix=suffixes)
def test_every_reader_agrees_with_the_exact_value_of_a_valid_quantity(
    sign: str, number: str, suffix: str
) -> None:
    text = f"{sign}{number}{suffix}"
    value = exact(sign, number, suffix)
    if abs(value) > quantities.MAX_QUANTITY:  # past any resource amount: refused by every reader alike
        for read in (quantities.quantity, quantities.milli, quantities.cpu_millis, quantities.byte_count):
            with pytest.raises(document.Malformed, match="out of range"):
                read(text)
        return
    assert quantities.quantity(text) == value
    assert quantities.milli(text) == math.ceil(value * 1000)  # the API server's MilliValue(): rounded up
    assert quantities.byte_count(text) == math.ceil(value)  # and Value()
    assert quantities.cpu_millis(text) == pytest.approx(float(value * 1000), rel=1e-12, abs=1e-12)


@PROPERTY
@given(value=st.integers(-(2**80), 2**80) | st.floats(allow_nan=True, allow_infinity=True))
def test_json_numbers_read_as_their_value_or_are_malformed(value: float) -> None:
    try:
        expected = Decimal(value)
    except (ValueError, ArithmeticError):
        expected = Decimal("NaN")
    if not expected.is_finite() or abs(expected) > quantities.MAX_QUANTITY:
        for read in (quantities.quantity, quantities.milli, quantities.cpu_millis, quantities.byte_count):
            with pytest.raises(document.Malformed):
                read(value)
        return
    assert quantities.milli(value) == math.ceil(quantities.quantity(value) * 1000)
    if isinstance(value, int):
        assert quantities.milli(value) == value * 1000 and quantities.byte_count(value) == value


@PROPERTY
@given(
    value=st.text(max_size=30)
    | st.from_regex(r"[-+ ]?[0-9.²١]{0,6}([eE][-+]?[0-9]{0,9})?(m|n|u|k|Ki|Ei|i|KI)?[ \n]?", fullmatch=True)
    | st.sampled_from(
        ["NaN", "-Infinity", "sNaN", "inf", "1e999999", "1e-999999", "9" * 40, "1e30Ei", "0x10"]
    )
    | json_values
)
def test_anything_else_is_a_quantity_or_malformed_and_the_readers_agree(value: object) -> None:
    outcomes = []
    for read in (quantities.quantity, quantities.milli, quantities.cpu_millis, quantities.byte_count):
        try:
            read(value)
            outcomes.append(True)
        except document.Malformed as exc:
            assert "bad quantity" in str(exc) and len(str(exc)) < 120  # names the value, cut
            outcomes.append(False)
    assert len(set(outcomes)) == 1, (value, outcomes)  # all read it, or all refuse it
