"""Benchmark: a Frigate detection published on MQTT, delivered by WardCam to a JSON webhook with its snapshot.

    .venv/bin/python bench/notify.py [--events 200] [--rate 10]

1. Start a real mosquitto on a free loopback port, a stand-in for Frigate's HTTP API (the snapshots;
   tests/addons/frigate/fake_frigate.py), and a JSON webhook receiver (Apprise's json://), all on loopback.
2. In this process, the appliance's parts the path goes through: the MQTT connection, the detections
   store (SQLite in a temporary folder), the add-on manager with the built-in Frigate add-on enabled
   (it fetches each event's snapshot from the Frigate API and attaches it), and the notification system
   with one webhook target and one rule (person, snapshot attached, no cooldown).
3. A paho client plays Frigate: for each event it publishes a `new` message with has_snapshot=true on
   frigate/events at QoS 1, at --rate events a second, noting the wall time of each publish.
4. Latency = the time the webhook received the message (with the picture checked byte for byte against
   the one Frigate served) minus the publish time.

Prints ONE JSON object: {"p50_s", "p99_s", "events", "delivered", "with_snapshot", "path"}. Targets: p50_s <= 1,
p99_s <= 3.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from appliance.addons.manager import AddonManager  # noqa: E402
from appliance.audit import AuditLog  # noqa: E402
from appliance.broker import MosquittoBroker  # noqa: E402
from appliance.bus import EventBus  # noqa: E402
from appliance.db.connection import close_database, migrate, open_database  # noqa: E402
from appliance.db.models.cameras import Camera  # noqa: E402
from appliance.db.models.detections import Detection  # noqa: E402
from appliance.detections import Detections  # noqa: E402
from appliance.mqtt import MqttService  # noqa: E402
from appliance.mqtt.service import MqttState  # noqa: E402
from appliance.notify import Notifications  # noqa: E402
from appliance.settings import Settings  # noqa: E402
from tests.addons.frigate.fake_frigate import FakeFrigate, jpeg  # noqa: E402
from tests.addons.frigate.payloads import event as frigate_event  # noqa: E402
from tests.appliance.notify.receivers import Receiver  # noqa: E402

log = logging.getLogger("bench.notify")
CAMERA = "hem_12"
DETECTION_ID = re.compile(r"/events\?id=(\d+)")


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0..100) of the values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


async def wait_for(check: Any, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not happen within {within_s} s")
        await asyncio.sleep(0.05)


async def run(events: int = 200, rate: float = 10.0) -> dict[str, Any]:
    """Run the benchmark and return its figures."""
    work = Path(tempfile.mkdtemp(prefix="wardcam-bench-notify-"))
    url = f"sqlite://{work / 'wardcam.db'}"
    await open_database(url)
    await migrate(url)
    bus = EventBus()
    audit = AuditLog(work / "audit-head.json")
    settings = Settings(data_dir=work, database_url=None)
    await Camera.create(name=CAMERA, main_url="rtsp://127.0.0.1:1/x", enabled=False)  # Frigate's camera, by name
    picture = jpeg("orange")
    frigate = await FakeFrigate(cameras=[CAMERA]).start()
    receiver = Receiver().start()
    detections = Detections(work, bus)
    await detections.start()
    manager = AddonManager(settings, bus, audit)
    notify = Notifications(settings, bus, audit, manager)
    await notify.start()
    async with MosquittoBroker(work / "broker") as broker:
        mqtt = MqttService(audit, work)
        await mqtt.start()
        try:
            await mqtt.save_settings({"broker": "external", "url": f"mqtt://{broker.host}:{broker.port}",
                                      "client_id": "wardcam-bench"})  # fmt: skip
            await wait_for(lambda: mqtt.status.state == MqttState.CONNECTED, 10, "the MQTT connection")
            manager.discover()
            await manager.configure("frigate", {"url": frigate.url, "fetch_snapshots": True})
            addon = await manager.enable("frigate")
            if not addon.running:
                raise SystemExit(f"the Frigate add-on did not start: {addon.error}")
            target = await notify.targets.create("Webhook", "webhook", {"url": receiver.url("/bench")}, None)
            await notify.rules.create("Có người", {"target_ids": [target.id], "labels": ["person"], "cooldown_s": 0,
                                                   "attach_snapshot": True}, None)  # fmt: skip
            await asyncio.sleep(0.5)  # the add-on's subscriptions reach the broker

            publisher = paho.Client(CallbackAPIVersion.VERSION2, client_id="frigate-bench")
            publisher.connect(broker.host, broker.port)
            publisher.loop_start()
            published: dict[str, float] = {}
            for n in range(events):
                event_id = f"{time.time():.6f}-bench{n:04d}"
                frigate.snapshots[event_id] = picture
                payload = frigate_event("new", event_id, CAMERA, "person", start=time.time(), has_snapshot=True)
                published[event_id] = time.time()
                await asyncio.to_thread(publisher.publish("frigate/events", payload, qos=1).wait_for_publish, 5)
                await asyncio.sleep(max(0.0, published[event_id] + 1 / rate - time.time()))
            await wait_for(lambda: len(receiver.received) >= events, 30, "every delivery")
            await asyncio.sleep(1.0)  # nothing more should come
            publisher.loop_stop()
            publisher.disconnect()
        finally:
            await manager.stop()
            await mqtt.stop()
            await notify.stop()
            await detections.stop()
    ids = {row.id: row.external_id for row in await Detection.all()}
    await close_database()
    await frigate.stop()
    receiver.stop()
    latencies, with_snapshot = [], 0
    for received in receiver.received:
        found = DETECTION_ID.search(received.body.get("message", ""))
        external = ids.get(int(found.group(1))) if found else None
        if external is None or external not in published:
            continue
        latencies.append(received.at - published[external])
        if received.body.get("attachments") and received.attachment() == picture:
            with_snapshot += 1
    return {
        "p50_s": round(statistics.median(latencies), 3),
        "p99_s": round(percentile(latencies, 99), 3),
        "events": events,
        "delivered": len(latencies),
        "with_snapshot": with_snapshot,
        "path": "frigate-mqtt",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="events a second")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = asyncio.run(run(args.events, args.rate))
    print(f"details: {json.dumps(result)}", file=sys.stderr, flush=True)
    print(json.dumps({"p50_s": result["p50_s"], "p99_s": result["p99_s"]}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
