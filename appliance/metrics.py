"""Prometheus metrics: read the appliance's figures and write them in the text exposition format.

Each scrape builds its own CollectorRegistry from fresh readings, so nothing lingers in the
process-wide default registry. A part of the appliance adds its figures with one more
`async def _<part>(...) -> list[Metric]` below, called from exposition().
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.metrics_core import Metric

from appliance import __version__
from appliance.auth.sessions import SessionPolicy
from appliance.bus import EventBus
from appliance.db.models.audit import AuditEntry
from appliance.db.models.cameras import Camera
from appliance.db.models.users import Role, Session, User
from appliance.mqtt import MqttState, MqttStatus
from appliance.recorder.supervisor import CameraStatus, RecorderState

PREFIX = "wardcam"


class _Readings:
    """A collector that hands over metric families read beforehand (collect() cannot await)."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def render(families: Sequence[Metric]) -> bytes:
    """Return metric families in the text exposition format, through a registry of their own."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Readings(families))
    return generate_latest(registry)


def _info(version: str) -> list[Metric]:
    return [InfoMetricFamily(PREFIX, "The WardCam software running.", value={"version": version})]


async def _accounts(policy: SessionPolicy, now: datetime) -> list[Metric]:
    users = GaugeMetricFamily(f"{PREFIX}_users", "Active user accounts by role.", labels=["role"])
    for role in Role:
        users.add_metric([role.value], await User.filter(role=role, is_active=True).count())
    live = Session.filter(expires_at__gt=now, last_seen_at__gt=now - policy.idle, user__is_active=True)
    sessions = GaugeMetricFamily(
        f"{PREFIX}_sessions_active", "Browser sessions that have not expired.", value=await live.count()
    )
    return [users, sessions]


async def _audit() -> list[Metric]:
    count = await AuditEntry.all().count()
    return [CounterMetricFamily(f"{PREFIX}_audit_entries", "Entries written to the audit log.", value=count)]


def _bus(bus: EventBus) -> list[Metric]:
    return [
        CounterMetricFamily(
            f"{PREFIX}_event_bus_handler_failures",
            "Event deliveries whose handler raised an exception.",
            value=bus.failures,
        )
    ]


async def _cameras() -> list[Metric]:
    cameras = GaugeMetricFamily(f"{PREFIX}_cameras", "Configured cameras, enabled or not.", labels=["enabled"])
    for enabled in (True, False):
        cameras.add_metric([str(enabled).lower()], await Camera.filter(enabled=enabled).count())
    return [cameras]


RECORDER_STATES = tuple(state.value for state in RecorderState)


def _recording(statuses: Sequence[CameraStatus], now: datetime) -> list[Metric]:
    """Per camera: its recording state, bytes written this run, restarts, bit rate, age of its last segment."""
    state = GaugeMetricFamily(f"{PREFIX}_camera_recording_state", "1 for the state the camera's recording is in.",
                              labels=["camera_id", "state"])  # fmt: skip
    written = GaugeMetricFamily(f"{PREFIX}_camera_bytes_written", "Bytes the current ffmpeg run has written.",
                                labels=["camera_id"])  # fmt: skip
    restarts = CounterMetricFamily(f"{PREFIX}_camera_restarts", "Times the camera's ffmpeg was started again.",
                                   labels=["camera_id"])  # fmt: skip
    bitrate = GaugeMetricFamily(f"{PREFIX}_camera_bitrate_kbps", "Recorded bit rate, kbit/s.", labels=["camera_id"])
    age = GaugeMetricFamily(f"{PREFIX}_camera_last_segment_age_seconds", "Seconds since the last segment closed.",
                            labels=["camera_id"])  # fmt: skip
    for status in statuses:
        camera = str(status.camera_id)
        for value in RECORDER_STATES:
            state.add_metric([camera, value], 1.0 if status.state.value == value else 0.0)
        written.add_metric([camera], status.bytes_written)
        restarts.add_metric([camera], status.restarts)
        bitrate.add_metric([camera], status.bitrate_kbps)
        if status.last_segment_at is not None:
            age.add_metric([camera], (now - status.last_segment_at).total_seconds())
    return [state, written, restarts, bitrate, age]


ADDON_STATUSES = ("disabled", "running", "failed", "broken")


def _addons(states: Sequence[tuple[str, str]]) -> list[Metric]:
    family = GaugeMetricFamily(
        f"{PREFIX}_addon_status", "1 for the status each add-on is in, 0 for the others.", labels=["addon", "status"]
    )
    for name, current in states:
        for status in ADDON_STATUSES:
            family.add_metric([name, status], 1.0 if status == current else 0.0)
    return [family]


MQTT_STATES = tuple(state.value for state in MqttState)


def _mqtt(status: MqttStatus | None) -> list[Metric]:
    """The broker connection: connected or not, its state, and what went through it."""
    if status is None:
        return []
    connected = GaugeMetricFamily(f"{PREFIX}_mqtt_connected", "1 while the MQTT broker is connected.",
                                  value=1.0 if status.connected else 0.0)  # fmt: skip
    state = GaugeMetricFamily(f"{PREFIX}_mqtt_state", "1 for the state the MQTT connection is in.", labels=["state"])
    for value in MQTT_STATES:
        state.add_metric([value], 1.0 if status.state.value == value else 0.0)
    counters = [
        ("messages_received", "MQTT messages received on a subscribed topic.", status.received),
        ("messages_published", "MQTT messages the broker took from WardCam.", status.published),
        ("handler_failures", "MQTT messages whose handler raised an exception.", status.handler_failures),
        ("malformed_payloads", "MQTT payloads a consumer could not use (bad JSON, wrong types, ...).",
         status.malformed),
        ("messages_dropped", "MQTT messages dropped because their handler fell too far behind.", status.dropped),
        ("connects", "Times WardCam connected to the MQTT broker.", status.connects),
    ]  # fmt: skip
    totals = [CounterMetricFamily(f"{PREFIX}_mqtt_{name}", text, value=value) for name, text, value in counters]
    return [connected, state, *totals]


async def exposition(
    bus: EventBus,
    session_policy: SessionPolicy,
    addon_states: Sequence[tuple[str, str]] = (),
    version: str = __version__,
    recording: Sequence[CameraStatus] = (),
    mqtt: MqttStatus | None = None,
) -> bytes:
    """Read every figure now and return the metrics page."""
    now = datetime.now(UTC)
    families = [
        *_info(version),
        *await _accounts(session_policy, now),
        *await _audit(),
        *_bus(bus),
        *await _cameras(),
        *_addons(addon_states),
        *_recording(recording, now),
        *_mqtt(mqtt),
    ]
    return render(families)
