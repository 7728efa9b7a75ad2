"""Each camera's motion settings: what is refused (in the user's words), and the file they are kept in."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from addons.motion.config import CameraMotion, CameraSettingsStore, MotionOptions, Polygon
from addons.motion.page import jpeg_size, problems
from appliance.i18n import use_language

SQUARE = ((0.1, 0.1), (0.4, 0.1), (0.4, 0.4), (0.1, 0.4))


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        CameraMotion.model_validate(values)
    return problems(caught.value)


def test_what_staff_cannot_save_is_refused_in_plain_words() -> None:
    outside = {"name": "Ngõ", "points": ((0.1, 0.1), (1.2, 0.1), (0.4, 0.4))}
    assert refusal(zones=[outside]) == "Các góc của hình phải nằm trong ảnh."
    assert refusal(zones=[{"name": "  ", "points": SQUARE}]) == "Mỗi vùng theo dõi cần có tên."
    twice = [{"name": "Ngõ", "points": SQUARE}, {"name": "Ngõ", "points": SQUARE}]
    assert refusal(zones=twice) == "Đã có vùng trùng tên này. Hãy đặt tên khác."
    with use_language("en"):
        assert refusal(zones=twice) == "There is already a zone with this name. Choose another name."
    assert refusal(masks=[{"points": SQUARE[:2]}]) != ""  # two corners are not a shape
    assert refusal(sensitivity=0) != ""
    assert refusal(min_area_pct=80) != ""
    with pytest.raises(ValidationError):
        MotionOptions(fps=10)


def test_names_are_tidied_and_points_rounded() -> None:
    zone = Polygon(name="  Lối   vào ", points=((0.123456, 0.5), (0.9, 0.5), (0.9, 0.987654)))
    assert zone.name == "Lối vào"
    assert zone.points == ((0.1235, 0.5), (0.9, 0.5), (0.9, 0.9877))


def test_settings_are_kept_per_camera_in_the_addon_folder(tmp_path: Path) -> None:
    store = CameraSettingsStore(tmp_path)
    store.load()
    assert store.get(3) == CameraMotion()  # every camera starts with the defaults
    mine = CameraMotion(sensitivity=70, zones=(Polygon(name="Cổng", points=SQUARE),), masks=(Polygon(points=SQUARE),))
    store.set(3, mine)
    again = CameraSettingsStore(tmp_path)
    again.load()
    assert again.get(3) == mine
    again.forget(3)
    third = CameraSettingsStore(tmp_path)
    third.load()
    assert third.get(3) == CameraMotion()


def test_an_unreadable_file_gives_the_defaults_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "cameras.json").write_text('{"3": {"sensitivity": "very"}}', encoding="utf-8")
    store = CameraSettingsStore(tmp_path)
    with caplog.at_level(logging.WARNING):
        store.load()
    assert store.get(3) == CameraMotion()
    assert "unreadable" in caplog.text


def test_the_size_of_a_picture_is_read_from_its_jpeg_header() -> None:
    header = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")  # SOI + APP0 (JFIF)
    sof = bytes.fromhex("ffc0001108") + (180).to_bytes(2, "big") + (320).to_bytes(2, "big") + bytes(12)
    assert jpeg_size(header + sof) == (320, 180)
    assert jpeg_size(header) is None
    assert jpeg_size(b"not a jpeg") is None
