"""Threshold overrides: one optional camelCase key per ``Thresholds`` field, applied over the defaults. The
durations (``model.thresholds.SECONDS``) take seconds or "10m", "24h"."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model
from pydantic.alias_generators import to_camel

from worker.model.thresholds import SECONDS, Thresholds
from worker.settings.base import seconds


def _threshold_overrides_model() -> type[BaseModel]:
    """A pydantic model with one optional camelCase key per ``Thresholds`` field (unknown keys rejected)."""
    hints = typing.get_type_hints(Thresholds)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(Thresholds):
        kind: Any = hints[f.name] | None
        if f.name in SECONDS:
            kind = typing.Annotated[kind, BeforeValidator(seconds)]
        fields[f.name] = (kind, Field(default=None, alias=to_camel(f.name)))
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
