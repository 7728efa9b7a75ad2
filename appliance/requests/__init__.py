"""Footage requests from the police: the request, its approval, the export job and the signed evidence package."""

from appliance.requests.service import FootageRequests

__all__ = ["FootageRequests"]
