"""Staff tick "Run Frigate on this box": WardCam writes Frigate's first config and private environment for the
image's container, asks the box to run it, and keeps the passwords out of the config."""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from appliance.addons.manager import AddonManager
from appliance.bus import CameraChanged
from appliance.db.models.cameras import Camera
from tests.addons.frigate.fake_frigate import FakeFrigate
from tests.harness.waiting import until

PASSWORD = "Bí@mật:1/2#%"  # every character that breaks a URL, and Vietnamese


def environment(path: Path) -> dict[str, str]:
    """Read the container's environment file as podman --env-file does: VARIABLE=value lines."""
    return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines())


async def test_the_container_gets_a_first_config_and_the_passwords_apart(
    manager: AddonManager, frigate_open: FakeFrigate, db: Path, prefix: str
) -> None:
    gate = await Camera.create(name="Cổng trước", main_url="rtsp://10.0.0.11:554/main", username="admin",
                               password=PASSWORD, enabled=False)  # fmt: skip
    await manager.configure("frigate", {"url": frigate_open.url, "topic_prefix": prefix, "fetch_snapshots": False,
                                        "run_container": True, "mqtt_password": "mqtt-frigate-1"})  # fmt: skip
    assert (await manager.enable("frigate")).running

    folder = db / "frigate-container"
    assert (folder / "enabled").is_file(), "the image's frigate.path starts the container while this exists"
    config_text = (folder / "config" / "config.yml").read_text(encoding="utf-8")
    assert PASSWORD not in config_text and "mqtt-frigate-1" not in config_text
    path = yaml.safe_load(config_text)["cameras"]["cong_truoc"]["ffmpeg"]["inputs"][0]["path"]
    assert path == f"rtsp://admin:{{FRIGATE_CAM_{gate.id}_PASSWORD}}@10.0.0.11:554/main"

    env_file = folder / "frigate.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    env = environment(env_file)
    assert env["FRIGATE_MQTT_PASSWORD"] == "mqtt-frigate-1"
    filled = path.replace(f"{{FRIGATE_CAM_{gate.id}_PASSWORD}}", env[f"FRIGATE_CAM_{gate.id}_PASSWORD"])
    assert unquote(urlsplit(filled).password or "") == PASSWORD, "Frigate's substitution gives a URL ffmpeg reads"

    (folder / "config" / "config.yml").write_text(config_text + "# changed in Frigate's own editor\n")
    gate2 = await Camera.create(name="Hẻm 12", main_url="rtsp://10.0.0.12/live", username="u", password="p 2",
                                enabled=False)  # fmt: skip
    manager.bus.publish(CameraChanged(camera_id=gate2.id, change="created"))
    await until(lambda: f"FRIGATE_CAM_{gate2.id}_PASSWORD" in environment(env_file), 5, "the new camera's password")
    assert environment(env_file)[f"FRIGATE_CAM_{gate2.id}_PASSWORD"] == "p%202"
    assert (folder / "config" / "config.yml").read_text().endswith("# changed in Frigate's own editor\n"), (
        "Frigate owns its config once it has one; WardCam changes it through Frigate's API"
    )

    await manager.disable("frigate")
    assert not (folder / "enabled").exists(), "a disabled add-on stops the container"
