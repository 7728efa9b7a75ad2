"""What can go wrong with a footage request, each with its message key (area `requests`)."""

from __future__ import annotations

from typing import Any

from appliance.errors import WardCamError


class InvalidRequestField(WardCamError):
    """A field of the request is missing or wrong."""

    key = "requests.error.field_required"
    status = 422

    def __init__(self, field: str, key: str | None = None, **params: Any) -> None:
        super().__init__(key, **params)
        self.field = field


class RangeTooLong(WardCamError):
    """The time range asked for is longer than a request may cover."""

    key = "requests.error.range_too_long"
    status = 422
    field = "end"


class InvalidRange(WardCamError):
    """The end of the range is not after its start."""

    key = "requests.error.invalid_range"
    status = 422
    field = "end"


class NoCameras(WardCamError):
    """The request names no camera (or a site without cameras)."""

    key = "requests.error.no_cameras"
    status = 422
    field = "cameras"


class WrongState(WardCamError):
    """The request is not in a state that allows this step."""

    key = "requests.error.wrong_state"
    status = 409


class NoteRequired(WardCamError):
    """A rejection needs a note that says why."""

    key = "requests.error.note_required"
    status = 422
    field = "note"


class ExportFailed(WardCamError):
    """The evidence package could not be made (the log says why)."""

    key = "requests.error.export_failed"
    status = 500
