"""Frigate's cameras found among WardCam's by name, and the Frigate config WardCam writes for its cameras."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from addons.frigate.config import FrigateOptions
from addons.frigate.frigate_config import Broker, CameraSource, build, merge, render
from addons.frigate.mapping import CameraMap, frigate_names, normalise
from appliance.validation import field_errors

PASSWORD = "Bí@mật:1/2#%"  # every character that breaks a URL, and Vietnamese
CAMERAS = [
    CameraSource(1, "Cổng trước", "rtsp://10.0.0.11:554/main", "rtsp://10.0.0.11:554/sub", "admin", PASSWORD),
    CameraSource(2, "Hẻm 5 - Đường Lê Lợi", "rtsp://10.0.0.12:554/Streaming/Channels/101", "", "", ""),
    CameraSource(3, "cong truoc", "rtsp://10.0.0.13/live", "rtsp://10.0.0.13/live2", "viewer", "xem-thoi"),
]


def test_names_match_whatever_the_accents_capitals_spaces_and_underscores() -> None:
    assert normalise("Cổng trước") == normalise("cong_truoc") == normalise("Cong-Truoc ") == "cong_truoc"
    assert normalise("Hẻm 5 - Đường Lê Lợi") == "hem_5_duong_le_loi"
    assert normalise("ĐẦU HẺM") == "dau_hem"
    assert frigate_names((c.id, c.name) for c in CAMERAS) == {1: "cong_truoc", 2: "hem_5_duong_le_loi",
                                                               3: "cong_truoc_2"}  # fmt: skip


def test_a_frigate_camera_is_linked_by_hand_first_then_by_name_and_otherwise_to_no_camera() -> None:
    cameras = CameraMap({c.id: c.name for c in CAMERAS}, links={"gate": 2, "cong_truoc_2": None})
    assert cameras.resolve("cong_truoc") == (1, "auto")
    assert cameras.resolve("Cong_Truoc") == (1, "auto")
    assert cameras.resolve("hem_5_duong_le_loi") == (2, "auto")
    assert cameras.resolve("gate") == (2, "manual")
    assert cameras.resolve("cong_truoc_2") == (None, "none")  # staff said: not one of ours
    assert cameras.resolve("nha_kho") == (None, "none")

    cameras.set_cameras({1: "Cổng trước"})  # camera 2 was deleted
    assert cameras.resolve("gate") == (None, "none")


def test_the_generated_config_detects_on_the_sub_stream_records_nothing_and_holds_no_password() -> None:
    options = FrigateOptions(detect_fps=4)
    text = render(build(CAMERAS, Broker("192.168.1.5", 1883, "frigate"), options))
    config = yaml.safe_load(text)

    assert config["record"] == {"enabled": False}
    assert config["objects"]["track"] == ["person", "motorcycle", "bicycle", "car"]
    assert config["snapshots"]["enabled"] is True
    assert config["mqtt"] == {
        "enabled": True, "host": "192.168.1.5", "port": 1883, "topic_prefix": "frigate", "client_id": "frigate",
        "user": "frigate", "password": "{FRIGATE_MQTT_PASSWORD}",
    }  # fmt: skip
    assert list(config["cameras"]) == ["cong_truoc", "hem_5_duong_le_loi", "cong_truoc_2"]
    gate = config["cameras"]["cong_truoc"]
    assert gate["ffmpeg"]["inputs"] == [
        {"path": "rtsp://admin:{FRIGATE_CAM_1_PASSWORD}@10.0.0.11:554/sub", "roles": ["detect"]}]  # fmt: skip
    assert gate["detect"] == {"enabled": True, "fps": 4}
    alley = config["cameras"]["hem_5_duong_le_loi"]["ffmpeg"]["inputs"][0]
    assert alley["path"] == "rtsp://10.0.0.12:554/Streaming/Channels/101"  # no sub stream: the main one
    for secret in (PASSWORD, "xem-thoi", "B%C3%AD"):
        assert secret not in text


def test_only_a_push_with_the_passwords_puts_them_in_percent_encoded() -> None:
    config = build(CAMERAS, None, FrigateOptions(), with_passwords=True)
    path = config["cameras"]["cong_truoc"]["ffmpeg"]["inputs"][0]["path"]
    assert path == "rtsp://admin:B%C3%AD%40m%E1%BA%ADt%3A1%2F2%23%25@10.0.0.11:554/sub"
    assert config["mqtt"] == {"enabled": False}  # MQTT off in WardCam: Frigate is told so


def test_merging_into_frigates_config_keeps_its_detectors_zones_own_cameras_and_mqtt_password() -> None:
    theirs = """
mqtt:
  host: 10.0.0.2
  user: frigate
  password: '{FRIGATE_MQTT_PASSWORD_OLD}'
detectors:
  coral:
    type: edgetpu
    device: usb
record:
  enabled: true
  retain: {days: 14}
cameras:
  cong_truoc:
    ffmpeg:
      inputs:
        - path: rtsp://old/main
          roles: [detect, record]
        - path: rtsp://old/audio
          roles: [audio]
    zones:
      via_he:
        coordinates: 0,0,100,0,100,100
    record: {enabled: true}
  nha_kho:
    ffmpeg:
      inputs:
        - path: rtsp://10.0.0.50/live
          roles: [detect]
"""
    ours = build(CAMERAS, Broker("192.168.1.5", 1884, "frigate"), FrigateOptions())
    merged = yaml.safe_load(render(merge(theirs, ours)))
    assert merged["detectors"] == {"coral": {"type": "edgetpu", "device": "usb"}}
    assert merged["record"] == {"enabled": False, "retain": {"days": 14}}
    assert merged["mqtt"]["host"] == "192.168.1.5" and merged["mqtt"]["port"] == 1884
    assert merged["mqtt"]["password"] == "{FRIGATE_MQTT_PASSWORD_OLD}"
    gate = merged["cameras"]["cong_truoc"]
    assert gate["zones"] == {"via_he": {"coordinates": "0,0,100,0,100,100"}}
    assert gate["record"] == {"enabled": False}
    assert gate["ffmpeg"]["inputs"] == [
        {"path": "rtsp://admin:{FRIGATE_CAM_1_PASSWORD}@10.0.0.11:554/sub", "roles": ["detect"]},
        {"path": "rtsp://old/audio", "roles": ["audio"]},
    ]
    assert merged["cameras"]["nha_kho"]["ffmpeg"]["inputs"][0]["path"] == "rtsp://10.0.0.50/live"
    assert set(merged["cameras"]) == {"cong_truoc", "nha_kho", "hem_5_duong_le_loi", "cong_truoc_2"}
    assert merge("", ours) == ours


def test_options_refuse_an_address_with_a_password_and_keep_links_tidy() -> None:
    with pytest.raises(ValidationError) as refused:
        FrigateOptions(url="http://admin:secret@10.0.0.2:5000")
    assert field_errors(refused.value.errors(), "en") == {
        "url": "Enter an address like http://192.168.1.20:5000, without a user or password in it."}  # fmt: skip
    with pytest.raises(ValidationError):
        FrigateOptions(camera_links=["cong truoc=1"])
    with pytest.raises(ValidationError):
        FrigateOptions(topic_prefix="frigate/#")
    options = FrigateOptions(url="http://10.0.0.2:5000/", camera_links=["gate=2", "cong_truoc_2=", "gate=3"])
    assert options.url == "http://10.0.0.2:5000"
    assert options.camera_links == ["cong_truoc_2=", "gate=3"]
    assert options.links == {"cong_truoc_2": None, "gate": 3}
