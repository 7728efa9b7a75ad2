"""What an add-on says about itself: name, version, description, icon, options and dependencies."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator


class NoOptions(BaseModel):
    """The options model of an add-on that has none."""

    model_config = ConfigDict(extra="forbid")


class AddonManifest(BaseModel):
    """The manifest every add-on module exposes as MANIFEST."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str = Field(description="Unique id: lower case letters, digits and dashes")
    version: str
    title: str = Field(description="Shown name; a translation key when one exists")
    description: str = Field("", description="One or two sentences; a translation key when one exists")
    icon: str = "extension"
    options: type[BaseModel] = NoOptions
    dependencies: tuple[str, ...] = ()
    builtin: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]{1,39}", value):
            raise ValueError("name must be 2-40 characters: lower case letters, digits and dashes")
        return value

    @field_validator("options")
    @classmethod
    def _options(cls, value: type[BaseModel]) -> type[BaseModel]:
        try:
            value()
        except Exception as exc:
            raise ValueError("every option needs a default") from exc
        return value
