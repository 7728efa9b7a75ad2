"""What staff can set for ONVIF discovery; every option has a default that works on a ward's LAN."""

from __future__ import annotations

from ipaddress import IPv4Address

from pydantic import BaseModel, ConfigDict, Field

from addons.onvif.discovery import MULTICAST_ADDRESS, WS_DISCOVERY_PORT


class OnvifOptions(BaseModel):
    """How long a scan listens, where the probe goes, and how long one camera may take to answer."""

    model_config = ConfigDict(extra="forbid")

    scan_timeout_s: float = Field(
        3.0,
        ge=0.5,
        le=30,
        title="addon.onvif.option.scan_timeout_s",
        description="addon.onvif.option.scan_timeout_s_help",
    )
    request_timeout_s: float = Field(
        10.0,
        ge=1,
        le=60,
        title="addon.onvif.option.request_timeout_s",
        description="addon.onvif.option.request_timeout_s_help",
    )
    probe_address: IPv4Address = Field(
        IPv4Address(MULTICAST_ADDRESS),
        title="addon.onvif.option.probe_address",
        description="addon.onvif.option.probe_address_help",
    )
    probe_port: int = Field(
        WS_DISCOVERY_PORT,
        ge=1,
        le=65535,
        title="addon.onvif.option.probe_port",
        description="addon.onvif.option.probe_port_help",
    )
