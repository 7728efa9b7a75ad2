"""Cameras to and from a spreadsheet: export without passwords, import after a preview.

One row a camera, with these columns (the first line names them, in any order):

    name, site, main_url, sub_url, username, password, enabled, retention_days, audio_policy

Only `name` and `main_url` are required. Import matches rows to cameras by name: a name WardCam knows
updates that camera, a new name adds one, and a site name that does not exist yet becomes a new site.
Within a row, an empty `password` keeps the stored one, and an empty `enabled`, `retention_days` or
`audio_policy` keeps the current value (the default for a new camera); an empty `site`, `sub_url` or
`username` clears it, so that a file exported, edited and imported again says what it shows.

Rows with errors are skipped and the valid rows are saved. Importing the same file again changes
nothing, so a user fixes the rows the preview marks and imports the whole file again.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from appliance.auth.principal import Principal
from appliance.cameras import CameraInput, CameraPatch, Cameras, SiteInput, password_may_follow
from appliance.db.models.cameras import Camera, Site
from appliance.errors import WardCamError
from appliance.i18n import catalog, t

COLUMNS = ("name", "site", "main_url", "sub_url", "username", "password", "enabled", "retention_days", "audio_policy")
REQUIRED = ("name", "main_url")
CLEARED_WHEN_EMPTY = ("site", "sub_url", "username")  # other empty cells keep the current value
MAX_BYTES = 1_000_000
MAX_ROWS = 2000
BOM = "\ufeff"  # lets Excel read the file as UTF-8, so Vietnamese names show correctly
FORMULA_START = ("=", "+", "-", "@")  # a spreadsheet runs a cell starting with one of these as a formula
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "x", "on", "có", "co", "bật", "bat"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", "không", "khong", "tắt", "tat"})
FIELD_OF_COLUMN = {"site": "site_id"}

RowAction = Literal["add", "update", "unchanged", "error"]


class CsvUnreadable(WardCamError):
    """The file as a whole cannot be imported: empty, too large, not a table, or required columns missing."""

    key = "cameras.csv.unreadable"
    status = 422


@dataclass(frozen=True)
class Problem:
    """What is wrong with one cell of a row (`column` empty: with the row as a whole)."""

    column: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str | None = None) -> str:
        """Return the problem in the user's language."""
        key = self.key if self.key in catalog("vi") else "error.field.invalid"
        return t(key, lang, **self.params)


@dataclass
class ImportRow:
    """One row of the file: what importing it would do, or why it cannot be imported."""

    line: int  # the line of the file, as a spreadsheet numbers it
    name: str
    site: str
    action: RowAction = "error"
    new_site: bool = False  # the row's site does not exist yet and will be created
    changes: list[str] = field(default_factory=list)  # the fields an update changes
    problems: list[Problem] = field(default_factory=list)
    password_dropped: bool = False  # the address moves to another device: the stored password is not sent there
    camera_id: int | None = None
    create: CameraInput | None = field(default=None, repr=False)
    patch: CameraPatch | None = field(default=None, repr=False)


@dataclass
class ImportPlan:
    """The preview: every row, and the columns of the file WardCam does not know (they are ignored)."""

    rows: list[ImportRow]
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def to_save(self) -> list[ImportRow]:
        """Return the rows that add or change a camera."""
        return [r for r in self.rows if r.action in ("add", "update")]

    @property
    def with_errors(self) -> list[ImportRow]:
        """Return the rows that will be skipped."""
        return [r for r in self.rows if r.action == "error"]


@dataclass(frozen=True)
class ImportResult:
    """What an import saved."""

    added: int
    updated: int
    sites_added: int
    failed: list[ImportRow]


# --- export --------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Keep a spreadsheet from running a cell as a formula (import takes the quote off again)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def export_csv(cameras: Iterable[Camera]) -> str:
    """Return the cameras (their sites fetched) as CSV; the password column is always empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for camera in cameras:
        site = camera.site.name if camera.site else ""
        writer.writerow([
            _cell(camera.name), _cell(site), camera.main_url, camera.sub_url, _cell(camera.username), "",
            "yes" if camera.enabled else "no", str(camera.retention_days), camera.audio_policy.value,
        ])  # fmt: skip
    return BOM + out.getvalue()


# --- reading -------------------------------------------------------------------------------------


def decode(content: bytes) -> str:
    """Return the file's text: UTF-8 (with or without BOM), else Windows Vietnamese (Excel's plain CSV)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1258", errors="replace")
    return unicodedata.normalize("NFC", text)


def _delimiter(header_line: str) -> str:
    """Guess the separator from the header line: Excel in a Vietnamese locale writes semicolons."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _unquote(text: str) -> str:
    text = text.strip()
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def read_rows(content: bytes) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """Return each non-empty row as (line, {column: cell}) and the columns WardCam ignores; CsvUnreadable if none."""
    if len(content) > MAX_BYTES:
        raise CsvUnreadable("cameras.csv.too_large", max_kb=MAX_BYTES // 1000)
    text = decode(content)
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise CsvUnreadable("cameras.csv.empty")
    first = next(line for line in lines if line.strip())
    try:
        reader = csv.reader(io.StringIO(text), delimiter=_delimiter(first))
        table = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise CsvUnreadable("cameras.csv.not_a_table") from exc
    table = [(n, row) for n, row in table if any(cell.strip() for cell in row)]
    if not table:
        raise CsvUnreadable("cameras.csv.empty")
    header = [cell.strip().lower().lstrip(BOM) for cell in table[0][1]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CsvUnreadable("cameras.csv.missing_columns", columns=", ".join(missing))
    if len(table) - 1 > MAX_ROWS:
        raise CsvUnreadable("cameras.csv.too_many_rows", max_rows=MAX_ROWS)
    known = {i: name for i, name in enumerate(header) if name in COLUMNS}
    ignored = [name for name in header if name and name not in COLUMNS]
    rows = []
    for line, cells in table[1:]:
        row = {name: cells[i] if i < len(cells) else "" for i, name in known.items()}
        rows.append((line, {k: v if k == "password" else _unquote(v) for k, v in row.items()}))
    return rows, ignored


def _flag(text: str) -> bool | str:
    """Read a yes/no cell in English or Vietnamese; return the text itself when it is neither."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return text


def _given(cells: dict[str, str]) -> dict[str, Any]:
    """Return the camera fields a row sets, as CameraInput takes them (site and password apart)."""
    values: dict[str, Any] = {}
    for column in ("name", "main_url", "sub_url", "username", "enabled", "retention_days", "audio_policy"):
        if column not in cells:
            continue
        cell = cells[column]
        if not cell and column not in CLEARED_WHEN_EMPTY:
            continue  # a required column then reads as missing
        if column == "enabled":
            values[column] = _flag(cell)
        elif column == "audio_policy":
            values[column] = cell.lower()
        else:
            values[column] = cell
    return values


def _problems(exc: ValidationError) -> list[Problem]:
    """Turn pydantic's errors into one problem per column, as translation keys."""
    problems: dict[str, Problem] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error.get("loc") else ""
        column = next((c for c, f in FIELD_OF_COLUMN.items() if f == name), name)
        params = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, str | int | float)}
        problems.setdefault(column, Problem(column, f"error.field.{error['type']}", params))
    return list(problems.values())


# --- the preview ---------------------------------------------------------------------------------


async def plan_import(content: bytes) -> ImportPlan:
    """Read a CSV file and say, row by row, what importing it would do; nothing is saved."""
    table, ignored = read_rows(content)
    existing = {c.name: c for c in await Camera.all().prefetch_related("site")}
    sites = {s.name: s.id for s in await Site.all()}
    seen: dict[str, int] = {}
    rows = []
    for line, cells in table:
        name, site = cells.get("name", "").strip(), cells.get("site", "").strip()
        row = ImportRow(line=line, name=name, site=site)
        rows.append(row)
        if name and name in seen:
            row.problems.append(Problem("name", "cameras.csv.duplicate_name", {"line": seen[name]}))
            continue
        seen.setdefault(name, line)
        if site and site not in sites:
            try:
                SiteInput(name=site)
            except ValidationError as exc:
                row.problems.extend(Problem("site", p.key, p.params) for p in _problems(exc))
            row.new_site = True
        values = _given(cells)
        password = cells.get("password") or None
        camera = existing.get(name)
        if camera is None:
            _plan_add(row, values, password)
        else:
            _plan_update(row, camera, values, password, "site" in cells, sites.get(site))
    return ImportPlan(rows=rows, ignored_columns=ignored)


def _plan_add(row: ImportRow, values: dict[str, Any], password: str | None) -> None:
    try:
        data = CameraInput.model_validate({**values, "password": password})
    except ValidationError as exc:
        row.problems.extend(_problems(exc))
    if row.problems:
        return
    row.action, row.create = "add", data


def _plan_update(
    row: ImportRow, camera: Camera, values: dict[str, Any], password: str | None, has_site: bool, site_id: int | None
) -> None:
    row.camera_id = camera.id
    current = {"name": camera.name, "main_url": camera.main_url, "sub_url": camera.sub_url,
               "username": camera.username, "enabled": camera.enabled, "retention_days": camera.retention_days,
               "audio_policy": camera.audio_policy}  # fmt: skip
    try:
        data = CameraInput.model_validate({**current, **values, "password": password})
    except ValidationError as exc:
        row.problems.extend(_problems(exc))
    if row.problems:
        return
    changed = {k: v for k, v in data.model_dump(exclude={"site_id", "password"}).items() if v != current[k]}
    current_site = camera.site.name if camera.site else ""
    if has_site and row.site != current_site:
        changed["site_id"] = site_id  # None for a new site: it is filled in when the site is created
    if password is not None and password != camera.password:
        changed["password"] = password
    elif password is None and camera.password:
        row.password_dropped = not password_may_follow((camera.main_url, camera.sub_url), (data.main_url, data.sub_url))
    row.changes = sorted(changed)
    if not changed:
        row.action = "unchanged"
        return
    row.action, row.patch = "update", CameraPatch.model_validate(changed)


# --- saving --------------------------------------------------------------------------------------


async def apply_import(plan: ImportPlan, service: Cameras, *, who: Principal, ip: str = "") -> ImportResult:
    """Save the rows that add or change a camera, creating their new sites first; skip the rows with errors."""
    site_ids = {s.name: s.id for s in await Site.all()}
    added = updated = sites_added = 0
    failed = []
    for row in plan.to_save:
        try:
            if row.site and row.site not in site_ids:
                site_ids[row.site] = (await service.create_site(SiteInput(name=row.site), who=who, ip=ip)).id
                sites_added += 1
            site_id = site_ids.get(row.site) if row.site else None
            if row.create is not None:
                await service.create_camera(row.create.model_copy(update={"site_id": site_id}), who=who, ip=ip)
                added += 1
            elif row.patch is not None and row.camera_id is not None:
                patch = row.patch
                if "site_id" in patch.model_fields_set:
                    patch = patch.model_copy(update={"site_id": site_id})
                await service.update_camera(row.camera_id, patch, who=who, ip=ip)
                updated += 1
        except WardCamError as exc:  # changed by someone else since the preview
            row.action = "error"
            row.problems.append(Problem(exc.field or "", exc.key, exc.params))
            failed.append(row)
    return ImportResult(added=added, updated=updated, sites_added=sites_added, failed=failed)
