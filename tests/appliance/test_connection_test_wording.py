"""A connection test explains itself in the words of a connection test, and an address with an empty or
broken port is refused before anything is tried.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from appliance.cameras import CameraInput, ConnectionTest, InvalidStreamUrl, check_stream_url, try_connection
from appliance.i18n import t
from appliance.recorder.failures import FailureKind
from appliance.recorder.probe import failure_key
from tests.harness.busy_camera import BusyCamera


@pytest.mark.parametrize(
    "url",
    [
        "rtsp://127.0.0.1:/cam1",
        "rtsp://192.168.1.64:0/stream",
        "rtsp://192.168.1.64:55a/stream",
        "http://10.0.0.7:-80/mjpeg",
        "rtsp://[fe80::1]:/h264",
        "rtsp://192.168.1.64:５５４/stream",  # full-width digits, from a phone keyboard
        "rtsp://192.168.1.64:65536/stream",  # one above the highest port
        "rtsp://192.168.1.64:5540000/stream",  # a digit typed too many
    ],
)
def test_an_empty_or_broken_port_is_refused_with_a_message_about_the_port(url: str) -> None:
    with pytest.raises(InvalidStreamUrl) as raised:
        check_stream_url(url)
    assert raised.value.key == "error.field.stream_url_port"

    with pytest.raises(ValidationError) as invalid:
        ConnectionTest(main_url=url)
    [error] = invalid.value.errors()
    assert (error["loc"], error["type"]) == (("main_url",), "stream_url_port")
    assert t("error.field.stream_url_port", "vi").startswith("Cổng sau dấu hai chấm phải là một số từ 1 đến 65535")
    assert t("error.field.stream_url_port", "en").startswith("The port after the colon must be a number")


@pytest.mark.parametrize("url", ["rtsp://127.0.0.1:8554/cam1", "rtsp://127.0.0.1/cam1", "rtsp://[::1]:554/x"])
def test_an_address_with_a_port_or_without_one_is_accepted(url: str) -> None:
    assert CameraInput(name="x", main_url=url).main_url == url


@pytest.mark.parametrize("kind", ["unknown", "dropped"])
def test_the_kinds_that_only_a_recording_could_explain_have_connection_test_words(kind: FailureKind) -> None:
    key = failure_key(kind)
    assert key != f"recorder.failure.{kind}"
    for lang, recorder_words in (("vi", ("Ghi hình", "đang kết nối lại", "đang thử lại")),
                                 ("en", ("Recording", "reconnecting", "keeps retrying"))):  # fmt: skip
        text = t(key, lang)
        assert text != key and not any(words in text for words in recorder_words), text


@pytest.mark.parametrize("kind", ["auth", "unreachable", "not_found", "timeout", "not_video"])
def test_the_other_kinds_keep_their_plain_words(kind: FailureKind) -> None:
    assert failure_key(kind) == f"recorder.failure.{kind}"


async def test_a_camera_answering_with_an_odd_error_gets_the_connection_test_message() -> None:
    async with BusyCamera() as camera:
        report = await try_connection(ConnectionTest(main_url=camera.url), 8)
    assert camera.requests >= 1
    assert (report.main.info, report.main.failure) == (None, "unknown")
    assert t(report.main.message_key, "vi").startswith("Kiểm tra kết nối thất bại vì một lý do WardCam không xác định")
