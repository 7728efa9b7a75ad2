"""An admin points WardCam at a broker with TLS (mqtts://) and a certificate of its own making."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.broker import mosquitto_binary
from appliance.mqtt import MqttService, MqttSettingsInvalid, MqttState
from appliance.net import free_port, port_open_async
from appliance.process import terminate
from tests.appliance.mqtt.conftest import connected, until


@dataclass
class TlsBroker:
    port: int
    ca_pem: str


EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


def make_certificates(folder: Path) -> None:
    """Make a CA and a certificate for 127.0.0.1 signed by it, as a ward's IT person would."""
    openssl("req", "-x509", *EC_KEY, "-nodes", "-days", "2", "-subj", "/CN=Ward CA",
            "-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.pem"))  # fmt: skip
    openssl("req", *EC_KEY, "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", str(folder / "server.key"), "-out", str(folder / "server.csr"))  # fmt: skip
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", str(folder / "server.csr"), "-CA", str(folder / "ca.pem"),
            "-CAkey", str(folder / "ca.key"), "-CAcreateserial", "-days", "2",
            "-extfile", str(folder / "san.cnf"), "-out", str(folder / "server.pem"))  # fmt: skip


@pytest.fixture
async def tls_broker(tmp_path: Path) -> AsyncIterator[TlsBroker]:
    """Run Mosquitto with only a TLS listener on loopback."""
    await asyncio.to_thread(make_certificates, tmp_path)
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n"
        f"cafile {tmp_path / 'ca.pem'}\ncertfile {tmp_path / 'server.pem'}\nkeyfile {tmp_path / 'server.key'}\n"
    )
    proc = await asyncio.create_subprocess_exec(mosquitto_binary(), "-c", str(config),
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        await until(lambda: port_open_async("127.0.0.1", port), what=lambda: "the TLS broker listens")
        yield TlsBroker(port, (tmp_path / "ca.pem").read_text())
    finally:
        await terminate(proc, 5, "mosquitto")


async def test_a_broker_with_its_own_ca_is_trusted_once_the_ca_is_given(
    mqtt_service: MqttService, tls_broker: TlsBroker
) -> None:
    url = f"mqtts://127.0.0.1:{tls_broker.port}"
    await mqtt_service.save_settings({"broker": "external", "url": url, "client_id": "tls"})
    await until(lambda: mqtt_service.status.state == MqttState.ERROR, what=lambda: mqtt_service.status.text("en"))
    assert mqtt_service.status.reason is not None
    assert mqtt_service.status.reason.key == "mqtt.reason.tls_verify"
    assert mqtt_service.status.text("en") == (
        f"Cannot connect. The broker at 127.0.0.1:{tls_broker.port} has a certificate WardCam cannot trust "
        "(self-signed certificate in certificate chain): add its CA certificate."
    )

    await mqtt_service.save_settings({"ca_pem": tls_broker.ca_pem})
    await connected(mqtt_service)
    assert mqtt_service.status.broker == url
    assert await mqtt_service.publish("tls/hello", b"over TLS", wait=True)


async def test_not_checking_the_certificate_connects_too(mqtt_service: MqttService, tls_broker: TlsBroker) -> None:
    url = f"mqtts://127.0.0.1:{tls_broker.port}"
    await mqtt_service.save_settings({"broker": "external", "url": url, "client_id": "tls2", "tls_insecure": True})
    await connected(mqtt_service)


async def test_a_certificate_that_is_not_one_is_refused(mqtt_service: MqttService) -> None:
    with pytest.raises(MqttSettingsInvalid) as refused:
        await mqtt_service.save_settings({"broker": "external", "url": "mqtts://127.0.0.1:8883", "ca_pem": "hello"})
    assert refused.value.field_messages("", "en") == {
        "ca_pem": "This is not a certificate: paste the broker's CA certificate in PEM form "
        "(it starts with -----BEGIN CERTIFICATE-----)."
    }
