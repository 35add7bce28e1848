"""Threshold overrides: one optional camelCase key per ``Thresholds`` field, applied over the defaults."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.alias_generators import to_camel

from worker.model.thresholds import Thresholds


def _threshold_overrides_model() -> type[BaseModel]:
    """A pydantic model with one optional camelCase key per ``Thresholds`` field (unknown keys rejected)."""
    hints = typing.get_type_hints(Thresholds)
    fields: dict[str, Any] = {
        f.name: (hints[f.name] | None, Field(default=None, alias=to_camel(f.name)))
        for f in dataclasses.fields(Thresholds)
    }
    return create_model(  # type: ignore[call-overload,no-any-return]
        "ThresholdOverrides",
        __config__=ConfigDict(extra="forbid", populate_by_name=True, frozen=True),
        **fields,
    )


ThresholdOverrides = _threshold_overrides_model()


def apply(base: Thresholds, overrides: BaseModel | None) -> Thresholds:
    """``base`` with every key ``overrides`` sets."""
    if overrides is None:
        return base
    changes = {k: v for k, v in overrides.model_dump().items() if v is not None}
    return dataclasses.replace(base, **changes)
