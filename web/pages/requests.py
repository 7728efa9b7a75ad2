"""/requests: footage requests from the police, from the officer's form to the handed-over package.

Police see and make their own requests (on the sites granted to them); ward admins see all of them,
approve or reject each with a note (approval locks the footage at once), have the evidence package
made (with its progress), hand it over and close the request. /requests/{id} shows one request:
its details, the decision, the export's progress, the download, the check of the package and the
handover record. The same rules hold in /api/requests (appliance/requests/access.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from nicegui import ui

from appliance.audit_export import local_timezone
from appliance.auth.principal import Principal
from appliance.auth.roles import Permission
from appliance.db.models.audit import AuditEntry
from appliance.db.models.cameras import Camera, Site
from appliance.db.models.requests import FootageRequest, RequestStatus, Urgency
from appliance.db.models.users import Role, User
from appliance.errors import WardCamError
from appliance.i18n import t
from appliance.requests.access import downloadable, visible_requests
from appliance.requests.links import LinkPolicy, load_link_policy, save_link_policy
from appliance.requests.workflow import RequestInput
from web import context, design
from web.access import page
from web.api.requests import desk
from web.components.dialogs import open_once
from web.guard import acting, client_ip
from web.pages.audit import action_label
from web.theme import frame

STATUS_COLOURS = {
    RequestStatus.PENDING: "warning",
    RequestStatus.APPROVED: "primary",
    RequestStatus.REJECTED: "grey-7",
    RequestStatus.EXPORTED: "positive",
    RequestStatus.DELIVERED: "positive",
    RequestStatus.CLOSED: "grey-6",
}
ALL = "all"
PROGRESS_EVERY_S = 1.0


def when(value: datetime | None) -> str:
    """Return a time as the box's local clock shows it."""
    return value.astimezone(local_timezone()).strftime("%d/%m/%Y %H:%M") if value else "—"


def status_badge(status: RequestStatus) -> None:
    ui.badge(t(f"requests_web.status.{status.value}"), color=STATUS_COLOURS[status]).mark(f"status-{status.value}")


async def camera_names(ids: list[int]) -> str:
    names = dict(await Camera.filter(id__in=ids).values_list("id", "name"))
    return ", ".join(str(names.get(i, f"#{i}")) for i in ids)


def notify_error(exc: WardCamError) -> None:
    ui.notify(t(exc.key, **exc.params), type="negative")


# --- the list ------------------------------------------------------------------------------------


@page("/requests", Permission.REQUEST_FOOTAGE)
async def requests_page() -> None:
    """List the footage requests the user may see, with a form for a new one."""
    who = context.principal()
    assert who is not None
    with frame("nav.requests"):
        ui.label(
            t("requests_web.intro_admin" if who.can(Permission.APPROVE_FOOTAGE) else "requests_web.intro_police")
        ).classes(design.MUTED)
        with ui.row().classes("w-full items-center gap-2"):
            ui.button(
                t("requests_web.new"), icon="add", on_click=lambda: new_request_dialog(who, request_list.refresh)
            ).mark("new-request")
            statuses = {ALL: t("requests_web.all")} | {
                s.value: t(f"requests_web.status.{s.value}") for s in RequestStatus
            }
            chosen = (
                ui.select(statuses, value=ALL, label=t("requests_web.filter"), on_change=lambda: request_list.refresh())
                .classes("w-48")
                .mark("status-filter")
            )

        @ui.refreshable
        async def request_list() -> None:
            status = None if chosen.value == ALL else RequestStatus(chosen.value)
            rows = await visible_requests(who, status)
            if not rows:
                ui.label(t("requests_web.none")).classes(design.MUTED).mark("no-requests")
                return
            with ui.column().classes("w-full gap-2"):
                for request in rows:
                    await request_card(request)

        await request_list()
        if who.can(Permission.APPROVE_FOOTAGE):
            await settings_section()


async def request_card(request: FootageRequest) -> None:
    """One request in the list: a click opens it."""
    with (
        ui.card()
        .classes("w-full cursor-pointer")
        .mark(f"request-{request.id}")
        .on("click", lambda r=request: ui.navigate.to(f"/requests/{r.id}")),
        ui.row().classes("w-full items-center gap-3"),
    ):
        ui.icon("priority_high" if request.urgency == Urgency.URGENT else "gavel").classes(
            "text-2xl " + ("text-negative" if request.urgency == Urgency.URGENT else "text-grey-7")
        )
        with ui.column().classes("gap-0 grow"):
            ui.label(t("requests_web.card_title", id=request.id, case=request.case_number)).classes("font-semibold")
            ui.label(f"{request.officer_name} · {request.officer_unit}").classes(design.MUTED)
            cameras = await camera_names(list(request.camera_ids))
            ui.label(f"{cameras} · {when(request.start)} – {when(request.end)}").classes(design.MUTED)
            ui.label(t("requests_web.card_created", at=when(request.created_at), who=request.created_by)).classes(
                design.MUTED
            )
        status_badge(request.status)


async def settings_section() -> None:
    """The admins' settings of footage requests: how long download links work."""
    policy = await load_link_policy()
    limits = context.appliance().requests.workflow.policy
    ui.label(t("requests_web.settings")).classes(design.H2)
    with ui.card().classes(design.CARD), ui.column().classes("gap-2 w-full"):
        ui.label(
            t("requests_web.settings_limits", hours=round(limits.max_range_s / 3600, 2), days=limits.hold_days)
        ).classes(design.MUTED)
        hours = (
            ui.number(t("requests_web.link_hours"), value=policy.link_ttl_s / 3600, min=0.1, max=720, step=1)
            .classes("w-64")
            .mark("link-hours")
        )

        async def save() -> None:
            who = await acting(Permission.APPROVE_FOOTAGE)
            if who is None:
                return
            try:
                new = LinkPolicy(link_ttl_s=round(float(hours.value or 0) * 3600))
            except ValueError:
                hours.error = t("requests_web.error.link_hours")
                return
            hours.error = None
            await save_link_policy(new)
            await context.appliance().audit.record(
                "requests.settings_changed",
                who=who,
                object_type="setting",
                object_id="footage_links",
                detail=new.model_dump(),
                ip=client_ip(),
            )
            ui.notify(t("requests_web.saved"), type="positive")

        ui.button(t("action.save"), on_click=save).mark("save-link-hours")


# --- a new request -------------------------------------------------------------------------------


def parse_local(text: str | None) -> datetime | None:
    """Read a datetime-local field (YYYY-MM-DDTHH:MM) as the box's local time."""
    try:
        return datetime.fromisoformat(text or "").replace(tzinfo=local_timezone())
    except ValueError:
        return None


async def new_request_dialog(who: Principal, done: Callable[[], object]) -> None:
    """Ask for the officer's details, the cameras (or a site) and the time range; save a pending request."""
    cameras = {
        c.id: c.name
        for c in await Camera.all().order_by("name")
        if who.role != Role.POLICE or c.site_id in who.site_ids
    }  # type: ignore[attr-defined]
    sites = {s.id: s.name for s in await Site.all().order_by("name") if who.role != Role.POLICE or s.id in who.site_ids}
    police = {u.id: u.display_name or u.username for u in await User.filter(role=Role.POLICE, is_active=True)}
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-2xl"):
        ui.label(t("requests_web.new")).classes(design.H2)
        fields = {
            name: ui.input(t(f"requests_web.field.{name}")).classes(design.FORM_FIELD).mark(name)
            for name in ("officer_name", "officer_unit", "officer_badge", "case_number")
        }
        if who.role == Role.POLICE:
            fields["officer_name"].value = who.display_name
        reason = ui.textarea(t("requests_web.field.reason")).classes(design.FORM_FIELD).mark("reason")
        camera_select = (
            ui.select(cameras, multiple=True, label=t("requests_web.field.cameras"))
            .classes(design.FORM_FIELD)
            .props("use-chips")
            .mark("cameras")
        )
        site_select = (
            ui.select({0: t("requests_web.no_site")} | sites, value=0, label=t("requests_web.field.site"))
            .classes(design.FORM_FIELD)
            .mark("site")
        )
        with ui.row().classes("w-full gap-2 no-wrap"):
            start = ui.input(t("requests_web.field.start")).props("type=datetime-local").classes("grow").mark("start")
            end = ui.input(t("requests_web.field.end")).props("type=datetime-local").classes("grow").mark("end")
        urgency = (
            ui.select(
                {u.value: t(f"requests_web.urgency.{u.value}") for u in Urgency},
                value=Urgency.NORMAL.value,
                label=t("requests_web.field.urgency"),
            )
            .classes(design.FORM_FIELD)
            .mark("urgency")
        )
        officer_user = None
        if who.role != Role.POLICE:
            officer_user = (
                ui.select(
                    {0: t("requests_web.no_police_user")} | police, value=0, label=t("requests_web.field.officer_user")
                )
                .classes(design.FORM_FIELD)
                .mark("officer_user")
            )

        async def save() -> None:
            acting_who = await acting(Permission.REQUEST_FOOTAGE)
            if acting_who is None:
                return
            for element in (*fields.values(), reason, camera_select, start, end):
                element.error = None
            begins, ends = parse_local(start.value), parse_local(end.value)
            if begins is None or ends is None:
                (start if begins is None else end).error = t("requests_web.error.time")
                return
            data = RequestInput(
                officer_name=fields["officer_name"].value or "",
                officer_unit=fields["officer_unit"].value or "",
                officer_badge=fields["officer_badge"].value or "",
                case_number=fields["case_number"].value or "",
                reason=reason.value or "",
                start=begins,
                end=ends,
                camera_ids=tuple(camera_select.value or ()),
                site_id=site_select.value or None,
                urgency=Urgency(urgency.value),
                officer_user_id=(officer_user.value or None) if officer_user is not None else None,
            )
            try:
                created = await context.appliance().requests.workflow.create(acting_who, data, client_ip())
            except WardCamError as exc:
                target = {**fields, "reason": reason, "cameras": camera_select, "end": end}.get(exc.field)
                if target is not None:
                    target.error = t(exc.key, **exc.params)
                else:
                    notify_error(exc)
                return
            ui.notify(t("requests_web.created", id=created.id), type="positive")
            dialog.close()
            done()

        with ui.row().classes("w-full justify-end"):
            ui.button(t("action.cancel"), on_click=dialog.close).props("flat")
            ui.button(t("requests_web.send"), on_click=save).mark("send-request")
    open_once(dialog)


# --- one request ---------------------------------------------------------------------------------


@page("/requests/{request_id}", Permission.REQUEST_FOOTAGE)
async def request_page(request_id: int) -> None:
    """Show one request with what the user may do with it now."""
    who = context.principal()
    assert who is not None
    with frame("nav.requests"):
        ui.link(t("requests_web.back"), "/requests").classes("text-primary")
        try:
            request = await desk().open(who, request_id, client_ip())
        except WardCamError as exc:
            ui.label(t(exc.key, **exc.params)).classes("text-negative").mark("request-error")
            return
        await request_details(who, request)


async def request_details(who: Principal, request: FootageRequest) -> None:
    ui.label(t("requests_web.card_title", id=request.id, case=request.case_number)).classes(design.H1)
    status_badge(request.status)
    rows = [
        ("officer", f"{request.officer_name} · {request.officer_unit} · {request.officer_badge}"),
        ("reason", request.reason),
        ("cameras", await camera_names(list(request.camera_ids))),
        ("range", f"{when(request.start)} – {when(request.end)}"),
        ("urgency", t(f"requests_web.urgency.{request.urgency.value}")),
        ("created", f"{request.created_by}, {when(request.created_at)}"),
    ]
    if request.decided_at:
        rows.append(("decision", f"{request.decided_by}, {when(request.decided_at)}: {request.decision_note or '—'}"))
    if request.exported_at:
        rows.append(
            (
                "package",
                t(
                    "requests_web.package_made",
                    at=when(request.exported_at),
                    sha=request.package_sha256[:16],
                    mb=round(request.package_size / 1e6, 1),
                ),
            )
        )
    if request.hold_until:
        rows.append(("hold", t("requests_web.held_until", at=when(request.hold_until))))
    with ui.card().classes(design.CARD), ui.grid(columns="auto 1fr").classes("gap-x-4 gap-y-1 w-full"):
        for key, value in rows:
            ui.label(t(f"requests_web.row.{key}")).classes("font-medium text-grey-8")
            ui.label(value).classes("whitespace-pre-wrap").mark(f"row-{key}")
    await actions(who, request)
    await history(request)


async def actions(who: Principal, request: FootageRequest) -> None:
    """The buttons this user may use on this request now, and the export's progress."""
    admin = who.can(Permission.APPROVE_FOOTAGE)
    service = context.appliance().requests
    with ui.row().classes("w-full items-center gap-2"):
        if admin and request.status == RequestStatus.PENDING:
            ui.button(t("requests_web.approve"), icon="check", on_click=lambda: decide_dialog(request, True)).mark(
                "approve"
            )
            ui.button(
                t("requests_web.reject"), icon="close", color="negative", on_click=lambda: decide_dialog(request, False)
            ).mark("reject")
        if admin and request.status in (RequestStatus.APPROVED, RequestStatus.EXPORTED):
            ui.button(t("requests_web.export"), icon="inventory_2", on_click=lambda: export(request, "original")).mark(
                "export"
            )
            ui.button(
                t("requests_web.export_burned_in"), icon="subtitles", on_click=lambda: export(request, "burned_in")
            ).props("outline").mark("export-burned-in")
        if admin and request.status == RequestStatus.EXPORTED:
            ui.button(
                t("requests_web.deliver"), icon="local_shipping", on_click=lambda: step(request, "delivered")
            ).props("outline").mark("deliver")
        if admin and request.status not in (RequestStatus.PENDING, RequestStatus.CLOSED):
            ui.button(t("requests_web.close"), icon="lock", on_click=lambda: step(request, "close")).props("flat").mark(
                "close-request"
            )
        if downloadable(who, request):
            ui.button(t("requests_web.download"), icon="download", on_click=lambda: download(request)).mark("download")
            ui.button(t("requests_web.verify"), icon="verified", on_click=lambda: verify(request)).props(
                "outline"
            ).mark("verify")
            ui.button(
                t("requests_web.handover"),
                icon="description",
                on_click=lambda: ui.navigate.to(f"/api/requests/{request.id}/handover.pdf", new_tab=True),
            ).props("flat").mark("handover")
    job_line = ui.row().classes("w-full items-center gap-2")
    with job_line:
        bar = ui.linear_progress(value=0, show_value=False).classes("grow").mark("export-progress")
        job_text = ui.label().classes(design.MUTED).mark("export-state")
    job_line.set_visibility(False)

    def show_progress() -> None:
        job = service.exports.jobs.get(request.id)
        if job is None:
            return
        job_line.set_visibility(True)
        bar.value = job.progress
        job_text.text = t(f"requests_web.job.{job.state}", pct=round(100 * job.progress), error=job.error)
        if str(job.state) == "done" and request.status != RequestStatus.EXPORTED:
            ui.navigate.reload()

    show_progress()
    ui.timer(PROGRESS_EVERY_S, show_progress)


def decide_dialog(request: FootageRequest, approving: bool) -> None:
    """Approve or reject with a note (a rejection must say why)."""
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-md"):
        ui.label(t("requests_web.approve_title" if approving else "requests_web.reject_title", id=request.id)).classes(
            design.H2
        )
        if approving:
            ui.label(t("requests_web.approve_lock")).classes(design.MUTED)
        note = ui.textarea(t("requests_web.field.note")).classes(design.FORM_FIELD).mark("note")

        async def confirm() -> None:
            who = await acting(Permission.APPROVE_FOOTAGE)
            if who is None:
                return
            workflow = context.appliance().requests.workflow
            try:
                if approving:
                    await workflow.approve(who, request.id, note.value or "", client_ip())
                else:
                    await workflow.reject(who, request.id, note.value or "", client_ip())
            except WardCamError as exc:
                note.error = t(exc.key, **exc.params)
                return
            ui.navigate.reload()  # while the dialog, whose button this handler runs under, still exists
            dialog.close()

        with ui.row().classes("w-full justify-end"):
            ui.button(t("action.cancel"), on_click=dialog.close).props("flat")
            ui.button(
                t("requests_web.approve" if approving else "requests_web.reject"),
                on_click=confirm,
                color="primary" if approving else "negative",
            ).mark("confirm-decision")
    open_once(dialog)


async def export(request: FootageRequest, variant: str) -> None:
    who = await acting(Permission.APPROVE_FOOTAGE)
    if who is None:
        return
    try:
        await context.appliance().requests.export(who, request.id, variant=variant)
    except WardCamError as exc:
        notify_error(exc)
        return
    ui.notify(t("requests_web.export_queued"), type="info")


async def step(request: FootageRequest, name: str) -> None:
    who = await acting(Permission.APPROVE_FOOTAGE)
    if who is None:
        return
    workflow = context.appliance().requests.workflow
    try:
        await (workflow.delivered if name == "delivered" else workflow.close)(who, request.id, client_ip())
    except WardCamError as exc:
        notify_error(exc)
        return
    ui.navigate.reload()


async def download(request: FootageRequest) -> None:
    """Make a fresh download link for this user and start the download."""
    who = await acting(Permission.REQUEST_FOOTAGE)
    if who is None:
        return
    try:
        link = await desk().link(who, request.id)
    except WardCamError as exc:
        notify_error(exc)
        return
    ui.download.from_url(f"/api/requests/download/{link.token}")


async def verify(request: FootageRequest) -> None:
    """Check the stored package and say the outcome in plain words."""
    who = await acting(Permission.REQUEST_FOOTAGE)
    if who is None:
        return
    try:
        result = await desk().verify(who, request.id, client_ip())
    except WardCamError as exc:
        notify_error(exc)
        return
    if result.ok:
        ui.notify(t("requests.verify.ok", files=result.files_ok), type="positive", multi_line=True)
    else:
        problems = "; ".join(t(f"requests.verify.{p.kind}", name=p.name) for p in result.problems)
        ui.notify(
            f"{t('requests.verify.failed', count=len(result.problems))} {problems}",
            type="negative",
            multi_line=True,
            timeout=0,
            close_button=True,
        )


async def history(request: FootageRequest) -> None:
    """The request's steps, from the audit log."""
    entries = await AuditEntry.filter(object_type="footage_request", object_id=str(request.id)).order_by("id")
    ui.label(t("requests_web.history")).classes(design.H2)
    with ui.column().classes("w-full gap-0").mark("history"):
        for entry in entries:
            ui.label(f"{when(entry.at)} · {entry.actor or '—'} · {action_label(entry.action)}").classes("text-sm")
