"""A scan binds its socket where its probe goes: a probe to loopback (as in every test) never opens a
socket on the machine's other interfaces; the multicast probe of a real LAN still listens on all of them.
"""

from __future__ import annotations

import asyncio

import psutil
import pytest

from addons.onvif import discovery
from tests.addons.onvif.fake_camera import discovery_responder


def udp_sockets() -> set[tuple[str, int]]:
    """Return the local addresses of this process's UDP sockets."""
    return {(c.laddr.ip, c.laddr.port) for c in psutil.Process().net_connections(kind="udp4")}


@pytest.mark.parametrize(
    ("target", "bound"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.53", "127.0.0.1"),
        (discovery.MULTICAST_ADDRESS, "0.0.0.0"),  # the real scan: answers come to any interface
        ("192.168.1.64", "0.0.0.0"),  # a camera on another subnet
        ("camera.local", "0.0.0.0"),
    ],
)
def test_the_bind_address_follows_the_probe_target(target: str, bound: str) -> None:
    assert discovery.bind_address(target) == bound


async def test_a_scan_of_loopback_opens_its_socket_on_loopback_only() -> None:
    async with discovery_responder(["http://127.0.0.1:8000/onvif/device_service"]) as responder:
        before = udp_sockets()
        scan = asyncio.create_task(discovery.scan(0.6, None, "127.0.0.1", responder.port))
        await asyncio.sleep(0.3)
        opened = udp_sockets() - before
        found = await scan
    assert opened and {ip for ip, _ in opened} == {"127.0.0.1"}, opened
    assert [m.host for m in found] == ["127.0.0.1"]
    assert responder.protocol.probes  # the probe arrived, from the loopback socket
