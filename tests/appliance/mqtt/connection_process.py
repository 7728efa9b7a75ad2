"""Run only the appliance's MQTT connection in a process of its own, so that a test can kill it.

    python -m tests.appliance.mqtt.connection_process DATA_DIR BROKER_URL BASE_TOPIC

Prints "connected" once the broker has accepted it, then waits to be killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from appliance.audit import AuditLog
from appliance.db.connection import close_database, migrate, open_database
from appliance.mqtt import MqttService, MqttState


async def main(data_dir: Path, url: str, base_topic: str) -> None:
    db_url = f"sqlite://{data_dir / 'wardcam.db'}"
    await open_database(db_url)
    await migrate(db_url)
    service = MqttService(AuditLog(data_dir / "audit-head.json"), data_dir)
    connected = asyncio.Event()
    service.add_listener(lambda status: connected.set() if status.state == MqttState.CONNECTED else None)
    await service.start()
    try:
        await service.save_settings({"broker": "external", "url": url, "base_topic": base_topic})
        await connected.wait()
        print("connected", flush=True)
        await asyncio.Event().wait()
    finally:
        await service.stop()
        await close_database()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3]))
