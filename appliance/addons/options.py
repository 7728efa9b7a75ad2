"""Add-on options: validation with per-field errors, storage with secrets kept, and form field kinds."""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AnyUrl, BaseModel, SecretStr
from pydantic.fields import FieldInfo

from appliance.i18n import t_or_text


class CameraRef:
    """Mark an int (or list[int]) option as a camera picker: Annotated[int | None, CameraRef()]."""


class SiteRef:
    """Mark an int (or list[int]) option as a site picker: Annotated[int | None, SiteRef()]."""


CameraId = Annotated[int | None, CameraRef()]
SiteId = Annotated[int | None, SiteRef()]
CameraIds = Annotated[list[int], CameraRef()]
SiteIds = Annotated[list[int], SiteRef()]

Kind = Literal["text", "password", "url", "number", "integer", "bool", "select", "list", "time", "camera", "site"]


@dataclass(frozen=True)
class OptionField:
    """How one option is shown in the generated form."""

    name: str
    kind: Kind
    title: str
    description: str
    required: bool
    multiple: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """Return the inner type of Optional/Annotated, and the Annotated metadata."""
    metadata: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = typing.get_args(annotation)
            metadata.extend(extra)
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation, metadata
            annotation = args[0]
        else:
            return annotation, metadata


def _kind(annotation: Any, info: FieldInfo) -> tuple[Kind, bool, tuple[str, ...]]:
    inner, metadata = _unwrap(annotation)
    metadata = [*metadata, *info.metadata]
    multiple = typing.get_origin(inner) is list
    item = typing.get_args(inner)[0] if multiple and typing.get_args(inner) else inner
    if any(isinstance(m, CameraRef) for m in metadata):
        return "camera", multiple, ()
    if any(isinstance(m, SiteRef) for m in metadata):
        return "site", multiple, ()
    if multiple:
        return "list", True, ()
    if typing.get_origin(item) is Literal:
        return "select", False, tuple(str(a) for a in typing.get_args(item))
    if isinstance(item, type):
        if issubclass(item, enum.Enum):
            return "select", False, tuple(str(m.value) for m in item)
        if issubclass(item, bool):
            return "bool", False, ()
        if issubclass(item, int):
            return "integer", False, ()
        if issubclass(item, float):
            return "number", False, ()
        if issubclass(item, SecretStr):
            return "password", False, ()
        if issubclass(item, AnyUrl):
            return "url", False, ()
        if issubclass(item, dt.time):
            return "time", False, ()
    return "text", False, ()


def _bound(info: FieldInfo, names: tuple[str, ...]) -> float | None:
    for meta in info.metadata:
        for name in names:
            value = getattr(meta, name, None)
            if isinstance(value, int | float):
                return float(value)
    return None


def describe(model: type[BaseModel]) -> list[OptionField]:
    """Describe each option of a model for the generated form."""
    fields = []
    for name, info in model.model_fields.items():
        kind, multiple, choices = _kind(info.annotation, info)
        fields.append(
            OptionField(
                name=name,
                kind=kind,
                title=t_or_text(info.title) if info.title else name.replace("_", " ").capitalize(),
                description=t_or_text(info.description) if info.description else "",
                required=info.is_required(),
                multiple=multiple,
                choices=choices,
                minimum=_bound(info, ("ge", "gt")),
                maximum=_bound(info, ("le", "lt")),
            )
        )
    return fields


def dump(options: BaseModel) -> dict[str, Any]:
    """Return options as JSON-ready data, with secrets in clear (they stay on the server)."""
    data = options.model_dump(mode="json")
    for name in type(options).model_fields:
        value = getattr(options, name)
        if isinstance(value, SecretStr):
            data[name] = value.get_secret_value()
    return data


def redacted(options: BaseModel) -> dict[str, Any]:
    """Return options for the browser and the audit log: secrets replaced by whether they are set."""
    data = options.model_dump(mode="json")
    for name in type(options).model_fields:
        if isinstance(getattr(options, name), SecretStr):
            data[name] = None
    return data


def secret_fields(model: type[BaseModel]) -> set[str]:
    """Return the names of the password options."""
    return {f.name for f in describe(model) if f.kind == "password"}
