"""Cameras go out to a spreadsheet without passwords and come back in after a preview, row by row."""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

import pytest

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.bus import EventBus
from appliance.camera_csv import CsvUnreadable, ImportPlan, apply_import, export_csv, plan_import, read_rows
from appliance.cameras import CameraInput, Cameras, SiteInput
from appliance.db.models.cameras import AudioPolicy, Camera, Site
from appliance.db.models.users import Role

ADMIN = Principal(user_id=1, username="admin", display_name="", role=Role.ADMIN, language="vi")
TRICKY_PASSWORD = "p@ss:w/rd#%"
HEADER = "name,site,main_url,sub_url,username,password,enabled,retention_days,audio_policy\n"


@pytest.fixture
def service(db: Path) -> Cameras:
    return Cameras(AuditLog(db / "audit-head.json"), EventBus())


async def add_camera(service: Cameras, name: str, site: str = "", **fields: object) -> Camera:
    site_id = None
    if site:
        existing = await Site.get_or_none(name=site)
        site_id = existing.id if existing else (await service.create_site(SiteInput(name=site), who=ADMIN)).id
    data = {"name": name, "main_url": "rtsp://192.168.1.64:554/Streaming/Channels/101", "site_id": site_id, **fields}
    return await service.create_camera(CameraInput.model_validate(data), who=ADMIN)


async def exported() -> str:
    return export_csv(await Camera.all().prefetch_related("site"))


def windows_vietnamese(text: str) -> bytes:
    """Encode text as Excel on a Vietnamese Windows saves plain CSV: cp1258, tone marks as combining characters."""
    out = b""
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", char)
            for mark in marks:  # keep the first mark that cp1258 has precomposed (ê, ơ, ư...) on the letter
                try:
                    base = unicodedata.normalize("NFC", base + mark).encode("cp1258").decode("cp1258")
                except UnicodeEncodeError:
                    continue
                marks.remove(mark)
                break
            out += (base + "".join(marks)).encode("cp1258")
    return out


def outcomes(plan: ImportPlan) -> list[tuple[int, str, str]]:
    return [(r.line, r.name, r.action) for r in plan.rows]


def problems(plan: ImportPlan, line: int) -> dict[str, str]:
    row = next(r for r in plan.rows if r.line == line)
    return {p.column: p.text("en") for p in row.problems}


async def test_the_export_has_every_camera_and_never_a_password(service: Cameras) -> None:
    await add_camera(service, "Hẻm 12 – đầu hẻm", site="Hẻm 12 Nguyễn Trãi", username="admin",
                     password=TRICKY_PASSWORD, retention_days=14, audio_policy="drop")  # fmt: skip
    await add_camera(service, "Chợ – cổng sau", enabled=False, sub_url="rtsp://192.168.1.65/sub")

    text = await exported()
    assert text.startswith("\ufeff")  # Excel reads the Vietnamese names right
    assert TRICKY_PASSWORD not in text and "p%40ss" not in text
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [(r["name"], r["site"], r["username"], r["password"], r["enabled"], r["retention_days"],
             r["audio_policy"], r["sub_url"]) for r in rows] == [
        ("Chợ – cổng sau", "", "", "", "no", "30", "copy", "rtsp://192.168.1.65/sub"),
        ("Hẻm 12 – đầu hẻm", "Hẻm 12 Nguyễn Trãi", "admin", "", "yes", "14", "drop", ""),
    ]  # fmt: skip


async def test_an_exported_file_imported_again_changes_nothing(service: Cameras) -> None:
    await add_camera(service, "=HYPERLINK(1)", site="Ngã tư", username="admin", password=TRICKY_PASSWORD)
    await add_camera(service, "Cổng chợ", sub_url="rtsp://192.168.1.65/sub")
    text = await exported()
    assert "'=HYPERLINK(1)" in text  # a spreadsheet does not run it as a formula

    plan = await plan_import(text.encode())
    assert [r.action for r in plan.rows] == ["unchanged", "unchanged"]
    assert [r.name for r in plan.rows] == ["=HYPERLINK(1)", "Cổng chợ"]
    assert (await Camera.get(name="=HYPERLINK(1)")).password == TRICKY_PASSWORD


async def test_the_preview_says_what_each_row_will_do_and_saves_nothing(service: Cameras) -> None:
    await add_camera(service, "Cổng chợ", site="Chợ Bến Thành", retention_days=30)
    content = (
        HEADER
        + "Cổng chợ,Chợ Bến Thành,rtsp://192.168.1.64:554/Streaming/Channels/101,,,,,7,\n"
        + f"Hẻm 7 – cuối hẻm,Hẻm 7 Lê Lợi,rtsp://10.0.0.7/live,,admin,{TRICKY_PASSWORD},có,,aac\n"
        + "Camera hỏng,,ftp://10.0.0.8/live,,,,maybe,0,loud\n"
        + ",,rtsp://10.0.0.9/live,,,,,,\n"
        + "Hẻm 7 – cuối hẻm,,rtsp://10.0.0.10/live,,,,,,\n"
    ).encode()

    plan = await plan_import(content)

    assert outcomes(plan) == [(2, "Cổng chợ", "update"), (3, "Hẻm 7 – cuối hẻm", "add"), (4, "Camera hỏng", "error"),
                              (5, "", "error"), (6, "Hẻm 7 – cuối hẻm", "error")]  # fmt: skip
    assert plan.rows[0].changes == ["retention_days"]
    assert plan.rows[1].new_site and plan.rows[1].create is not None
    assert plan.rows[1].create.password == TRICKY_PASSWORD and plan.rows[1].create.audio_policy == AudioPolicy.AAC
    assert problems(plan, 4) == {
        "main_url": "The stream address must start with rtsp://, rtsps://, http:// or https://.",
        "enabled": "Must be true or false.",
        "retention_days": "Must be at least 1.",
        "audio_policy": "Must be one of: 'copy', 'aac' or 'drop'.",
    }
    assert problems(plan, 5) == {"name": "This field is required."}
    assert problems(plan, 6) == {"name": "This name is already on line 3 of the file."}
    assert (len(plan.to_save), len(plan.with_errors)) == (2, 3)
    assert await Camera.all().count() == 1 and await Site.all().count() == 1
    assert (await Camera.get(name="Cổng chợ")).retention_days == 30


async def test_importing_saves_the_valid_rows_creates_their_sites_and_skips_the_rest(service: Cameras) -> None:
    await add_camera(service, "Cổng chợ", username="admin", password="cu-mat-khau")
    content = (
        HEADER
        + "Cổng chợ,Chợ Bến Thành,rtsp://192.168.1.64:554/Streaming/Channels/101,,admin,,no,,\n"
        + f"Hẻm 7 – đầu hẻm,Hẻm 7 Lê Lợi,rtsp://10.0.0.7/live,,admin,{TRICKY_PASSWORD},,,\n"
        + "Hẻm 7 – cuối hẻm,Hẻm 7 Lê Lợi,rtsp://10.0.0.8/live,rtsp://10.0.0.8/sub,,,,,\n"
        + "Sai địa chỉ,,rtsp://admin:123@10.0.0.9/live,,,,,,\n"
    ).encode()

    result = await apply_import(await plan_import(content), service, who=ADMIN)

    assert (result.added, result.updated, result.sites_added, result.failed) == (2, 1, 2, [])
    market = await Camera.get(name="Cổng chợ").prefetch_related("site")
    assert (market.site.name, market.enabled, market.password) == ("Chợ Bến Thành", False, "cu-mat-khau")
    alley = await Site.get(name="Hẻm 7 Lê Lợi")
    assert sorted(await Camera.filter(site_id=alley.id).values_list("name", flat=True)) == [
        "Hẻm 7 – cuối hẻm", "Hẻm 7 – đầu hẻm"]  # fmt: skip
    assert (await Camera.get(name="Hẻm 7 – đầu hẻm")).password == TRICKY_PASSWORD
    assert not await Camera.exists(name="Sai địa chỉ")

    again = await plan_import(content)  # the same file once more: only the bad row is left
    assert [r.action for r in again.rows] == ["unchanged", "unchanged", "unchanged", "error"]


async def test_a_minimal_sheet_from_excel_in_vietnamese_with_semicolons_and_windows_encoding(
    service: Cameras,
) -> None:
    content = windows_vietnamese("Name;Main_URL;Ghi chú\r\nNgã ba Điện Biên;rtsp://10.0.0.5/live;cột đèn số 4\r\n")
    assert "Ngã ba Điện Biên" not in content.decode("cp1258")  # the tone marks are combining characters

    plan = await plan_import(content)

    assert outcomes(plan) == [(2, "Ngã ba Điện Biên", "add")]
    assert plan.ignored_columns == ["ghi chú"]
    await apply_import(plan, service, who=ADMIN)
    camera = await Camera.get(name="Ngã ba Điện Biên")
    assert (camera.main_url, camera.enabled, camera.retention_days) == ("rtsp://10.0.0.5/live", True, 30)


async def test_an_update_row_with_empty_cells_keeps_what_is_not_cleared(service: Cameras) -> None:
    await add_camera(service, "Cổng chợ", site="Chợ", sub_url="rtsp://10.0.0.5/sub", username="admin",
                     password="mat-khau", retention_days=60, enabled=False)  # fmt: skip
    content = (HEADER + "Cổng chợ,,rtsp://10.0.0.5/live,,,,,,\n").encode()

    plan = await plan_import(content)
    assert plan.rows[0].changes == ["main_url", "site_id", "sub_url", "username"]
    await apply_import(plan, service, who=ADMIN)

    camera = await Camera.get(name="Cổng chợ")
    assert (camera.site_id, camera.sub_url, camera.username) == (None, "", "")  # type: ignore[attr-defined]
    assert (camera.password, camera.retention_days, camera.enabled) == ("mat-khau", 60, False)


@pytest.mark.parametrize(
    ("content", "key"),
    [
        (b"", "cameras.csv.empty"),
        (b" \r\n,,,\r\n", "cameras.csv.empty"),
        (b"ten,dia_chi\nCam,rtsp://x/1\n", "cameras.csv.missing_columns"),
        (b"name,main_url\n" + b"a,rtsp://x/1\n" * 2001, "cameras.csv.too_many_rows"),
        (b"name,main_url\n" + b"x" * 1_000_001, "cameras.csv.too_large"),
    ],
)
def test_a_file_that_is_not_a_camera_list_is_refused_as_a_whole(content: bytes, key: str) -> None:
    with pytest.raises(CsvUnreadable) as caught:
        read_rows(content)
    assert caught.value.key == key


def test_cells_are_read_by_header_name_whatever_their_order() -> None:
    rows, ignored = read_rows(b"main_url,NAME,extra\nrtsp://10.0.0.5/live,Cam 1,x\n\nrtsp://10.0.0.6/live,Cam 2\n")
    assert rows == [(2, {"main_url": "rtsp://10.0.0.5/live", "name": "Cam 1"}),
                    (4, {"main_url": "rtsp://10.0.0.6/live", "name": "Cam 2"})]  # fmt: skip
    assert ignored == ["extra"]


async def test_a_row_that_moves_a_camera_to_another_device_warns_that_its_stored_password_goes(
    service: Cameras,
) -> None:
    await add_camera(service, "Cổng chợ", username="admin", password="cu-mat-khau")
    await add_camera(service, "Hẻm 7", username="admin", password="mat-khau-hem")
    moved = "rtsp://192.168.1.99:554/Streaming/Channels/101"  # another device
    same_device = "rtsp://192.168.1.64:554/Streaming/Channels/102"  # another path on the same device
    plan = await plan_import(f"{HEADER}Cổng chợ,,{moved},,admin,,,,\nHẻm 7,,{same_device},,admin,,,,\n".encode())

    market, alley = plan.rows
    assert (market.action, market.password_dropped) == ("update", True)
    assert (alley.action, alley.password_dropped) == ("update", False)
    await apply_import(plan, service, who=ADMIN)
    assert (await Camera.get(name="Cổng chợ")).password == ""  # never sent to a device it was not typed for
    assert (await Camera.get(name="Hẻm 7")).password == "mat-khau-hem"
