"""An officer's playback is audited with the range sent, however fast the browser took it."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.auth.roles import Role
from appliance.db.models.audit import AuditEntry
from appliance.playback.service import Playback
from tests.appliance.playback.support import Footage

OFFICER = Principal(user_id=7, username="canh-sat", display_name="Trung úy Lê Văn Nam", role=Role.POLICE,
                    language="vi")  # fmt: skip
QUICK_S = 0.3  # how long the response was open: less than MIN_WATCHED_S


@pytest.fixture
def playback(footage: Footage, db: Path) -> Playback:
    """The appliance's playback over the test's footage (the camera is not recording now)."""
    return Playback(footage.dir, db / "work", AuditLog(db / "audit-head.json"))


async def ended_entries() -> list[AuditEntry]:
    """Return the audit log's recordings.play_ended entries."""
    return await AuditEntry.filter(action="recordings.play_ended").order_by("id")


async def test_a_recording_sent_whole_within_a_second_is_audited_with_all_it_sent(
    footage: Footage, playback: Playback
) -> None:
    stream = await playback.open_stream(OFFICER, footage.camera.id, footage.segments[0].start)
    async for _ in stream.chunks():  # the browser takes it all at once, as a short recording goes
        pass
    await stream.close()

    assert stream.ran_out
    assert await playback.play_ended(OFFICER, footage.camera, stream, QUICK_S)
    [entry] = await ended_entries()
    recorded_s = sum(s.duration_s for s in footage.segments)
    assert entry.detail["sent_s"] == pytest.approx(recorded_s, abs=0.5)
    assert entry.detail["from"] == stream.start.isoformat(timespec="seconds")


async def test_a_stream_left_within_a_second_writes_nothing_more(footage: Footage, playback: Playback) -> None:
    stream = await playback.open_stream(OFFICER, footage.camera.id, footage.segments[0].start)
    chunks = stream.chunks()
    await chunks.__anext__()
    await chunks.aclose()  # another moment clicked straight away: the browser leaves this one
    await stream.close()

    assert not stream.ran_out
    assert not await playback.play_ended(OFFICER, footage.camera, stream, QUICK_S)
    assert await ended_entries() == []
