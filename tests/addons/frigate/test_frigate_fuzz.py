"""Whatever lands on Frigate's topics, WardCam's consumer goes on: 1,500 generated payloads, good and hostile.

A seeded generator mixes Frigate events in their documented shape (new, update, end, repeated ids,
out of order) with mutations of them (keys removed, values of the wrong type, NaN and infinities,
huge numbers, long and odd strings, truncated JSON, random bytes, deep nesting, megabytes) and junk
on the other topics. Every payload must be accounted for (stored, or counted as malformed, or a false
positive), no handler may fail, every unmutated event must be stored, and what was stored must be sane.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections.abc import Callable
from typing import Any

from addons import frigate as frigate_addon
from appliance.addons.manager import AddonManager
from appliance.db.models.detections import Detection
from appliance.mqtt import MqttService
from tests.addons.frigate.fake_frigate import FakeFrigate
from tests.addons.frigate.payloads import T0, tracked_object
from tests.appliance.mqtt.conftest import Watcher
from tests.harness.fixtures import RunningBroker
from tests.harness.waiting import until

PAYLOADS = 1500
SEED = 20261128
CAMERAS = ["hem_5", "nga_tu_chua", "cho_dem"]
JUNK_VALUES: list[Any] = [
    None, True, -1, 0, 10**30, -(10**30), 1e308, "", "x" * 100_000, "Hẻm 5 — 🚨", "\u0000\u202e", [], [1, [2, [3]]],
    {}, {"nested": {"deeper": [None]}}, 3.5, "NaN", "2026-11-28T21:30:00",
]  # fmt: skip
RAW_JUNK = ["NaN", "Infinity", "-Infinity", "1e999"]  # JSON that Python reads as non-finite floats


def good_event(rng: random.Random, event_id: str) -> dict[str, Any]:
    kind = rng.choice(["new", "update", "update", "end"])
    start = T0 + rng.uniform(0, 3600)
    after = tracked_object(event_id, rng.choice(CAMERAS), rng.choice(["person", "motorcycle", "car", "bicycle"]),
                           start=start, end=start + rng.uniform(1, 60) if kind == "end" else None,
                           top_score=round(rng.uniform(0.5, 1.0), 3), current_zones=rng.sample(["cong", "hem"], 1),
                           has_snapshot=False)  # fmt: skip
    return {"type": kind, "before": dict(after, end_time=None), "after": after}


def mutate(rng: random.Random, message: dict[str, Any]) -> bytes:
    """Return one hostile variation of a good message."""
    how = rng.randrange(11)
    after = message["after"]
    if how == 0:
        del after[rng.choice(list(after))]
    elif how == 1:
        after[rng.choice(list(after))] = rng.choice(JUNK_VALUES)
    elif how == 2:
        message[rng.choice(["type", "after", "before"])] = rng.choice(JUNK_VALUES)
    elif how == 3:
        key = rng.choice(["start_time", "end_time", "top_score", "score"])
        text = json.dumps(message).replace(f'"{key}": ', f'"{key}": {rng.choice(RAW_JUNK)}, "_was": ', 1)
        return text.encode()
    elif how == 4:
        text = json.dumps(message).encode()
        return text[: rng.randrange(len(text))]  # cut short
    elif how == 5:
        return rng.randbytes(rng.randrange(1, 2000))
    elif how == 6:
        depth = rng.choice([50, 1000, 100_000])
        return b'{"type": "new", "after": ' + b"[" * depth + b"]" * depth + b"}"
    elif how == 7:
        after["sub_label"] = rng.choice([["Nam", 0.9], ["Nam"], [None, "x"], {"name": "Nam"}, 12, "A" * 5000])
    elif how == 8:
        after["id"] = rng.choice(["", "../../etc/passwd", "id\nwith newline", "x" * 500, "ok id"])
    elif how == 9:
        return rng.choice([b"[]", b"null", b"42", b'"new"', b"", b"\xef\xbb\xbf{}", json.dumps([message]).encode()])
    else:
        after["current_zones"] = rng.choice([["z"] * 10_000, [None], "cong", [["a"]], [1, 2]])
    return json.dumps(message).encode()


def generate(rng: random.Random) -> tuple[list[bytes], set[str]]:
    """Return the payloads for frigate/events, and the ids of the events sent unmutated at least once."""
    payloads: list[bytes] = []
    good_ids: set[str] = set()
    pool = [f"{T0 + n:.6f}-{n:06x}" for n in range(120)]  # Frigate's id shape; reused: repeats, out of order
    for _ in range(PAYLOADS):
        event_id = rng.choice(pool)
        message = good_event(rng, event_id)
        if rng.random() < 0.35:
            payloads.append(json.dumps(message).encode())
            good_ids.add(event_id)
        else:
            payloads.append(mutate(rng, message))
    payloads.insert(rng.randrange(len(payloads)), b"B" * 3_000_000)  # megabytes
    return payloads, good_ids


def publish_all(frigate: Watcher, items: list[tuple[str, bytes]]) -> None:
    """Publish everything at QoS 1 as fast as the client goes, then wait for the broker's acknowledgements."""
    sent = [frigate.client.publish(topic, payload, qos=1) for topic, payload in items]
    for info in sent:
        info.wait_for_publish(30)


async def test_fifteen_hundred_generated_payloads_never_stop_the_consumer_and_each_is_accounted_for(
    manager: AddonManager, frigate_open: FakeFrigate, mosquitto: RunningBroker, prefix: str,
    watchers: Callable[..., Watcher], mqtt_to_broker: MqttService,
) -> None:  # fmt: skip
    rng = random.Random(SEED)
    events, good_ids = generate(rng)
    others = [
        (f"{prefix}/reviews", mutate(rng, {"type": "new", "after": {"id": "r"}, "before": {}})) for _ in range(60)
    ]
    others += [(f"{prefix}/available", rng.choice([b"maybe", b"", rng.randbytes(8), b"online" * 1000]))
               for _ in range(20)]  # fmt: skip
    others += [(f"{prefix}/{rng.choice(CAMERAS)}/status/{rng.choice(['detect', 'x', '..'])}", rng.randbytes(4))
               for _ in range(20)]  # fmt: skip
    frigate = watchers(mosquitto.host, mosquitto.port)
    frigate.publish(f"{prefix}/events", b"\x00retained junk", retain=True)

    await manager.configure("frigate", {"url": frigate_open.url, "topic_prefix": prefix, "fetch_snapshots": False})
    addon = await manager.enable("frigate")
    assert addon.running, addon.error
    state = frigate_addon.running().state
    await until(lambda: state.events_received == 1, 10, "the retained junk heard")

    await asyncio.to_thread(publish_all, frigate, [(f"{prefix}/events", p) for p in events])
    total = 1 + len(events)

    def accounted() -> int:
        return state.events_stored + state.false_positives + state.malformed + state.store_failures

    await until(lambda: accounted() == total, 60, f"all {total} events stored, skipped or counted bad")
    assert state.events_received == total
    assert state.store_failures == 0
    assert state.malformed == mqtt_to_broker.status.malformed
    assert mqtt_to_broker.status.handler_failures == 0

    before = state.malformed
    await asyncio.to_thread(publish_all, frigate, others)  # junk on the other topics: none of it is usable
    await until(lambda: state.malformed - before == len(others), 30, f"{len(others)} bad payloads on other topics")
    assert mqtt_to_broker.status.handler_failures == 0
    assert manager.get("frigate").running, "the add-on stopped"

    rows = await Detection.filter(source="frigate")
    stored_ids = {row.external_id for row in rows}
    assert good_ids <= stored_ids, f"good events lost: {sorted(good_ids - stored_ids)[:5]}"
    for row in rows:
        assert 0.0 <= row.top_score <= 1.0 and math.isfinite(row.top_score), row
        assert row.end is None or row.end >= row.start, row
        assert len(row.zones) <= 32 and all(isinstance(z, str) for z in row.zones), row
    # and it still works: one more good event is stored
    last = good_event(rng, "after-the-storm")
    frigate.publish(f"{prefix}/events", json.dumps(last).encode())
    await until(lambda: Detection.filter(external_id="after-the-storm").exists(), 10, "the next good event stored")
    frigate.publish(f"{prefix}/events", b"", retain=True)
