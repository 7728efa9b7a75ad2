"""Options models become forms field by field; secrets never leave the server."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Literal

import pytest
from pydantic import AnyUrl, BaseModel, Field, SecretStr, ValidationError

from appliance.addons.options import CameraId, CameraIds, SiteId, describe, dump, redacted
from appliance.validation import field_errors


class Shift(Enum):
    EVENING = "20-24"
    NIGHT = "00-04"


class Everything(BaseModel):
    name: str = "Phường 7"
    password: SecretStr = SecretStr("")
    url: AnyUrl = AnyUrl("http://127.0.0.1:5000")
    threshold: float = Field(0.7, ge=0, le=1)
    cooldown: int = Field(300, ge=0)
    night_only: bool = True
    label: Literal["person", "motorcycle", "car"] = "person"
    shift: Shift = Shift.EVENING
    zones: list[str] = []
    start: dt.time = dt.time(20, 0)
    camera: CameraId = None
    cameras: CameraIds = []
    site: SiteId = None


def test_each_option_type_gets_its_widget() -> None:
    kinds = {f.name: (f.kind, f.multiple) for f in describe(Everything)}
    assert kinds == {
        "name": ("text", False), "password": ("password", False), "url": ("url", False),
        "threshold": ("number", False), "cooldown": ("integer", False), "night_only": ("bool", False),
        "label": ("select", False), "shift": ("select", False), "zones": ("list", True),
        "start": ("time", False), "camera": ("camera", False), "cameras": ("camera", True),
        "site": ("site", False),
    }  # fmt: skip
    fields = {f.name: f for f in describe(Everything)}
    assert fields["label"].choices == ("person", "motorcycle", "car")
    assert fields["shift"].choices == ("20-24", "00-04")
    assert (fields["threshold"].minimum, fields["threshold"].maximum) == (0.0, 1.0)


def test_secrets_are_stored_but_never_shown() -> None:
    options = Everything(password=SecretStr("mat-khau-frigate"))
    assert dump(options)["password"] == "mat-khau-frigate"
    assert redacted(options)["password"] is None
    assert "mat-khau-frigate" not in str(redacted(options))


def test_errors_are_translated_per_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Everything.model_validate({"threshold": 3, "cooldown": "abc", "label": "dog", "start": "25:00"})
    errors = field_errors(caught.value.errors(), "en")
    assert errors["threshold"] == "Must be at most 1.0."
    assert errors["cooldown"] == "Must be a whole number."
    assert errors["label"] == "Must be one of: 'person', 'motorcycle' or 'car'."
    assert errors["start"] == "Must be a valid time, as HH:MM."
