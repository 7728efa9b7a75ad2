"""Find audit entries by actor, action and time, and export them as CSV for a spreadsheet.

The panel's audit page and the API share this module: the same filter, the same query and the
same CSV, so that what an auditor sees on screen is what they download.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from tortoise.queryset import QuerySet

from appliance.audit import AuditLog
from appliance.auth.principal import Principal
from appliance.db.models.audit import AuditEntry
from appliance.errors import WardCamError

EXPORT_ACTION = "audit.exported"
BOM = "\ufeff"  # lets Excel read the file as UTF-8, so Vietnamese names show correctly
CSV_COLUMNS = ("id", "time_utc", "actor", "action", "object_type", "object_id", "detail", "address", "hash")
BATCH = 500
# A cell starting with one of these is a formula to a spreadsheet; actors of failed logins are typed by anyone.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class InvalidTimeBound(WardCamError):
    """A `since` or `until` value is neither a date nor a date and time."""

    key = "audit.error.bad_time"
    status = 422


@dataclass(frozen=True)
class AuditFilter:
    """Which audit entries to show: all of them when every field is empty."""

    actor: str = ""
    action: str = ""
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def describe(self) -> dict[str, str]:
        """Return the filter as plain strings, for the audit entry of an export."""
        return {
            "actor": self.actor,
            "action": self.action,
            "since": self.since.astimezone(UTC).isoformat() if self.since else "",
            "until": self.until.astimezone(UTC).isoformat() if self.until else "",
        }


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first, and how many match in all."""

    entries: list[AuditEntry]
    total: int


@dataclass(frozen=True)
class CsvExport:
    """An exported CSV file."""

    content: bytes
    rows: int
    filename: str


def local_timezone() -> tzinfo:
    """Return the appliance's time zone, in which a bare date or time is read."""
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else UTC


def parse_bound(text: str | None, *, end: bool = False, tz: tzinfo | None = None) -> datetime | None:
    """Read a date ("2025-03-01") or an ISO date and time; a date as `until` covers that whole day."""
    text = (text or "").strip()
    if not text:
        return None
    zone = tz or local_timezone()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime.combine(day, time(), tzinfo=zone)
        return start + timedelta(days=1) if end else start
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError as exc:
        raise InvalidTimeBound(value=text[:40]) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def make_filter(
    actor: str | None = "", action: str | None = "", since: str | None = "", until: str | None = ""
) -> AuditFilter:
    """Build a filter from the text of a form or a query string."""
    return AuditFilter(
        actor=(actor or "").strip(),
        action=(action or "").strip(),
        since=parse_bound(since),
        until=parse_bound(until, end=True),
    )


def select(f: AuditFilter) -> QuerySet[AuditEntry]:
    """Return the query for the entries a filter lets through, in no particular order."""
    query = AuditEntry.all()
    if f.actor:
        query = query.filter(actor=f.actor)
    if f.action:
        query = query.filter(action=f.action)
    if f.since is not None:
        query = query.filter(at__gte=f.since.astimezone(UTC))
    if f.until is not None:
        query = query.filter(at__lt=f.until.astimezone(UTC))
    return query


async def page(f: AuditFilter, limit: int = 100, offset: int = 0) -> AuditPage:
    """Return one page of matching entries, newest first."""
    entries = await select(f).order_by("-id").offset(offset).limit(limit)
    return AuditPage(entries=list(entries), total=await select(f).count())


async def actions() -> list[str]:
    """Return every action written so far, in alphabetical order."""
    values = await AuditEntry.all().order_by("action").distinct().values_list("action", flat=True)
    return [str(v) for v in values]


async def actors() -> list[str]:
    """Return every actor named so far, in alphabetical order (empty names left out)."""
    values = await AuditEntry.exclude(actor="").order_by("actor").distinct().values_list("actor", flat=True)
    return [str(v) for v in values]


def _cell(text: str) -> str:
    """Keep a spreadsheet from running a cell as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_row(entry: AuditEntry) -> list[str]:
    """Return an entry as the cells of one CSV row, in the order of CSV_COLUMNS."""
    return [
        str(entry.id),
        entry.at.astimezone(UTC).isoformat(timespec="seconds"),
        _cell(entry.actor),
        _cell(entry.action),
        _cell(entry.object_type),
        _cell(entry.object_id),
        json.dumps(entry.detail, ensure_ascii=False, sort_keys=True, default=str),
        _cell(entry.ip),
        entry.hash,
    ]


def csv_text(entries: Iterable[AuditEntry]) -> str:
    """Return the CSV of some entries: the BOM, the header and one row each."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(entry) for entry in entries)
    return out.getvalue()


async def matching(f: AuditFilter, batch: int = BATCH) -> list[AuditEntry]:
    """Return every matching entry, oldest first, read a batch at a time."""
    found: list[AuditEntry] = []
    after = 0
    while rows := await select(f).filter(id__gt=after).order_by("id").limit(batch):
        found.extend(rows)
        after = rows[-1].id
    return found


def export_filename(now: datetime | None = None) -> str:
    """Return the download name of an export, stamped with the local time."""
    moment = (now or datetime.now(UTC)).astimezone(local_timezone())
    return f"wardcam-audit-{moment:%Y%m%d-%H%M%S}.csv"


async def export_csv(log: AuditLog, f: AuditFilter, who: Principal, ip: str = "") -> CsvExport:
    """Export the matching entries as CSV and write the export itself to the audit log."""
    entries = await matching(f)
    content = csv_text(entries).encode("utf-8")
    await log.record(
        EXPORT_ACTION,
        who=who,
        object_type="audit",
        ip=ip,
        detail={**f.describe(), "rows": len(entries)},
    )
    return CsvExport(content=content, rows=len(entries), filename=export_filename())
