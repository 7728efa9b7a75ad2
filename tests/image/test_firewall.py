"""The image's firewall script, loading its real rules with the real nft in a network namespace of its own."""

from __future__ import annotations

import subprocess
from pathlib import Path

IMAGE = Path(__file__).resolve().parents[2] / "image"
SCRIPT = IMAGE / "rootfs/usr/local/lib/wardcam/firewall"
RULES = IMAGE / "rootfs/etc/nftables.d"


def box(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Return the script with its paths moved into tmp_path, its rules folder and its flag folder."""
    rules = tmp_path / "nftables.d"
    rules.mkdir()
    for name in ("wardcam.nft", "wardcam-mqtt-lan.nft"):
        (rules / name).write_text((RULES / name).read_text())
    flags = tmp_path / "firewall"
    flags.mkdir()
    script = tmp_path / "firewall.sh"
    text = SCRIPT.read_text().replace("/etc/nftables.d", str(rules)).replace("/var/lib/wardcam/firewall", str(flags))
    script.write_text(text)
    return script, rules, flags


def in_own_netns(steps: str) -> subprocess.CompletedProcess[str]:
    """Run shell steps in a new network namespace (the machine's own firewall is never touched)."""
    return subprocess.run(["unshare", "--net", "sh", "-c", steps], capture_output=True, text=True, timeout=60)


def test_the_panel_is_open_and_mqtt_only_while_the_admin_opens_it(tmp_path: Path) -> None:
    script, _, flags = box(tmp_path)
    closed = in_own_netns(f"sh {script} && nft list table inet wardcam")
    assert closed.returncode == 0, closed.stderr
    assert "tcp dport 8080 accept" in closed.stdout
    assert "1883" not in closed.stdout
    (flags / "mqtt-lan").touch()
    opened = in_own_netns(f"sh {script} && sh {script} && nft list table inet wardcam")  # twice: a reload
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.count("tcp dport 1883 accept") == 1


def test_an_unreadable_rules_file_leaves_the_loaded_firewall_in_place(tmp_path: Path) -> None:
    script, rules, flags = box(tmp_path)
    (flags / "mqtt-lan").touch()
    steps = f"sh {script} && rm {rules}/wardcam-mqtt-lan.nft && ! sh {script} && nft list table inet wardcam"
    result = in_own_netns(steps)
    assert result.returncode == 0, result.stderr
    assert "No such file" in result.stderr
    assert "tcp dport 8080 accept" in result.stdout and "tcp dport 1883 accept" in result.stdout
