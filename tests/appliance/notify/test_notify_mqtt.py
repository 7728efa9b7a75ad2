"""The whole path, as in bench/notify.py: Frigate publishes on a real Mosquitto, the Frigate add-on stores the
detection and fetches its snapshot, a rule sends it to a JSON webhook with the picture intact."""

from __future__ import annotations

from bench.notify import run


async def test_frigate_events_on_mqtt_reach_the_webhook_with_their_snapshot() -> None:
    figures = await run(events=5, rate=20)
    assert figures["delivered"] == 5
    assert figures["with_snapshot"] == 5  # byte for byte the picture Frigate served
    assert figures["p99_s"] < 3
