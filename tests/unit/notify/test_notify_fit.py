"""fit(): cut on line boundaries to a byte budget, saying how many lines were left out."""

from __future__ import annotations

import pytest

from worker.notify.templates import fit

TEXT = "title\n\nline1\n\nline2\n\nline3"


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (100, TEXT),
        (len(TEXT.encode()), TEXT),
        (25, "title\n\nline1\n… +2 more"),
        (20, "title\n… +3 more"),
        (12, "… +3 more"),
    ],
)
def test_cuts_on_lines(limit: int, expected: str) -> None:
    assert fit(TEXT, limit) == expected
    assert len(fit(TEXT, limit).encode()) <= limit


@pytest.mark.parametrize("limit", range(1, 200, 7))
def test_never_exceeds_budget_with_multibyte_text(limit: int) -> None:
    text = "\n".join(f"第{i}行 节点 CPU 使用率 {i}%" for i in range(20))
    out = fit(text, limit)
    assert len(out.encode()) <= limit
    out.encode().decode()  # no half characters


def test_single_long_line_is_cut_on_character_boundary() -> None:
    out = fit("一" * 50, 20)
    assert out == "一" * 5 + "\n…"


def test_more_count_ignores_blank_lines() -> None:
    text = "head\n" + "\n\n".join(f"x{i}" for i in range(10))
    assert fit(text, 12).endswith("… +10 more")
