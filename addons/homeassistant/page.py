"""/addon/homeassistant/status: how many cameras Home Assistant was told about, and when it last said hello."""

from __future__ import annotations

from datetime import datetime

from nicegui import ui

from addons import homeassistant
from appliance.i18n import t
from web import design


def when(moment: datetime | None) -> str:
    """Return a moment in local time, or a dash."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def lines() -> list[tuple[str, str]]:
    """Return the status page's lines: (marker, text)."""
    rt = homeassistant.running()
    stats = rt.bridge.stats
    mqtt = rt.ctx.mqtt.status
    return [
        ("ha-mqtt", t("addon.homeassistant.status.mqtt", state=mqtt.text())),
        (
            "ha-devices",
            t("addon.homeassistant.status.devices", count=stats.devices, prefix=rt.options.discovery_prefix),
        ),
        ("ha-published", t("addon.homeassistant.status.published", when=when(stats.last_published))),
        ("ha-birth", t("addon.homeassistant.status.birth", when=when(stats.last_birth), topic=rt.options.status_topic)),
        ("ha-snapshots", t("addon.homeassistant.status.snapshots", count=stats.snapshots_sent)),
    ]


def status_page() -> None:
    """Draw the bridge's state, refreshed every two seconds."""
    ui.label(t("addon.homeassistant.intro")).classes(design.MUTED)
    with ui.card().classes(design.CARD):
        labels = {marker: ui.label(text).mark(marker) for marker, text in lines()}

    def refresh() -> None:
        if homeassistant.runtime is None:  # stopped while the page is open; the host page says so
            return
        for marker, text in lines():
            labels[marker].set_text(text)

    ui.timer(2.0, refresh)
