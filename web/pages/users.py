"""/users: admins add, edit and disable users, reset passwords, and manage API tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.auth.tokens import create_token, revoke_token
from appliance.db.models.cameras import Site
from appliance.db.models.users import ApiToken, Role, User
from appliance.errors import DuplicateUsername, InvalidUsername, WardCamError, WeakPassword
from appliance.i18n import LANGUAGES, t
from web import context, design
from web.access import page
from web.components.forms import form_input, form_select
from web.guard import acting, client_ip
from web.theme import frame


def role_options() -> dict[str, str]:
    """Return the roles with their translated names."""
    return {role.value: t(f"role.{role.value}") for role in Role}


def _fmt(dt: object) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if hasattr(dt, "strftime") else "—"


class Lists:
    """The page's two lists, refreshed on this page only (a module-level refreshable redraws every page
    that ever drew it, open or gone)."""

    @ui.refreshable_method
    async def users(self) -> None:
        await user_list(self.users.refresh)

    @ui.refreshable_method
    async def tokens(self) -> None:
        await token_list(self.tokens.refresh)


@page("/users", Permission.MANAGE_USERS)
async def users_page() -> None:
    """Show every user and every API token."""
    lists = Lists()
    with frame("nav.users"):
        with ui.row().classes("w-full gap-2"):
            ui.button(t("users.add"), icon="person_add", on_click=lambda: add_dialog(lists.users.refresh)).props(
                "data-test=add-user"
            )
        await lists.users()
        ui.label(t("tokens.title")).classes(design.H2)
        ui.label(t("tokens.intro")).classes(design.MUTED)
        ui.button(t("tokens.create"), icon="key", on_click=lambda: token_dialog(lists.tokens.refresh)).props(
            "outline data-test=create-token"
        )
        await lists.tokens()


async def user_list(changed: Callable[[], object]) -> None:
    """List the users as cards, each with its actions; `changed` redraws the list."""
    with ui.column().classes("w-full gap-2"):
        for user in await User.all():
            with (
                ui.card().classes("w-full").props(f"data-user={user.username}"),
                ui.row().classes("w-full items-center gap-3"),
            ):
                ui.icon("person" if user.is_active else "person_off").classes("text-2xl text-grey-7")
                with ui.column().classes("gap-0 grow"):
                    ui.label(f"{user.display_name or user.username}").classes("font-semibold")
                    ui.label(
                        f"{user.username} · {t('role.' + user.role.value)} · "
                        f"{LANGUAGES.get(user.language, user.language)}"
                    ).classes(design.MUTED)
                    ui.label(t("users.last_login", when=_fmt(user.last_login_at))).classes(design.MUTED)
                if not user.is_active:
                    ui.badge(t("users.disabled"), color="grey-6")
                ui.button(icon="edit", on_click=lambda u=user: edit_dialog(u, changed)).props(
                    f"flat round aria-label={t('users.edit')}"
                ).mark(f"edit-{user.username}")
                ui.button(icon="lock_reset", on_click=lambda u=user: password_dialog(u)).props(
                    f"flat round aria-label={t('users.reset_password')}"
                ).mark(f"reset-{user.username}")


def add_dialog(done: Callable[[], object]) -> None:
    """Ask for a new user's details and create them."""
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-md"):
        ui.label(t("users.add")).classes(design.H2)
        username = form_input("username").classes(design.FORM_FIELD)
        display_name = form_input("display_name").classes(design.FORM_FIELD)
        role = form_select("role", role_options(), value=Role.VIEWER.value).classes(design.FORM_FIELD)
        language = form_select("language", LANGUAGES, value="vi").classes(design.FORM_FIELD)
        password = form_input("password", password=True, password_toggle_button=True).classes(design.FORM_FIELD)
        ui.label(t("hint.password_rules")).classes(design.MUTED)

        async def save() -> None:
            who = await acting(Permission.MANAGE_USERS)
            if who is None:
                return
            username.error = password.error = None
            try:
                await context.appliance().accounts.create_user(
                    who,
                    username.value or "",
                    password.value or "",
                    Role(role.value),
                    display_name.value or "",
                    language.value,
                    ip=client_ip(),
                )
            except (InvalidUsername, DuplicateUsername) as exc:
                username.error = t(exc.key, **exc.params)
                return
            except WeakPassword as exc:
                password.error = t(exc.key, **exc.params)
                return
            ui.notify(t("users.added", username=username.value), type="positive")
            dialog.close()
            done()

        with ui.row().classes("w-full justify-end"):
            ui.button(t("action.cancel"), on_click=dialog.close).props("flat")
            ui.button(t("action.save"), on_click=save).props("data-test=save-user").mark("save-user")
    dialog.open()


async def edit_dialog(user: User, done: Callable[[], object]) -> None:
    """Change a user's name, role, language, active flag and granted sites."""
    sites = {s.id: s.name for s in await Site.all()}
    granted = list(await user.sites.all().values_list("id", flat=True))
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-md"):
        ui.label(t("users.edit_title", username=user.username)).classes(design.H2)
        display_name = form_input("display_name", value=user.display_name).classes(design.FORM_FIELD)
        role = form_select("role", role_options(), value=user.role.value).classes(design.FORM_FIELD)
        language = form_select("language", LANGUAGES, value=user.language).classes(design.FORM_FIELD)
        active = ui.switch(t("field.active"), value=user.is_active).mark("active")
        site_select = (
            ui.select(sites, value=granted, multiple=True, label=t("field.granted_sites"))
            .classes(design.FORM_FIELD)
            .props("use-chips")
        )
        site_select.bind_visibility_from(role, "value", value=Role.POLICE.value)
        ui.label(t("hint.granted_sites")).classes(design.MUTED).bind_visibility_from(
            role, "value", value=Role.POLICE.value
        )

        async def save() -> None:
            who = await acting(Permission.MANAGE_USERS)
            if who is None:
                return
            try:
                await context.appliance().accounts.update_user(
                    who,
                    user.id,
                    display_name=display_name.value or "",
                    role=Role(role.value),
                    language=language.value,
                    is_active=active.value,
                    site_ids=list(site_select.value or []),
                    ip=client_ip(),
                )
            except WardCamError as exc:
                ui.notify(t(exc.key, **exc.params), type="negative")
                return
            ui.notify(t("users.saved"), type="positive")
            dialog.close()
            done()

        with ui.row().classes("w-full justify-end"):
            ui.button(t("action.cancel"), on_click=dialog.close).props("flat")
            ui.button(t("action.save"), on_click=save).props("data-test=save-user").mark("save-user")
    dialog.open()


def password_dialog(user: User) -> None:
    """Set a new password for a user."""
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-md"):
        ui.label(t("users.reset_password_for", username=user.username)).classes(design.H2)
        password = form_input("new_password", password=True, password_toggle_button=True).classes(design.FORM_FIELD)
        ui.label(t("hint.password_rules")).classes(design.MUTED)

        async def save() -> None:
            who = await acting(Permission.MANAGE_USERS)
            if who is None:
                return
            try:
                await context.appliance().accounts.set_password(who, user.id, password.value or "", ip=client_ip())
            except WeakPassword as exc:
                password.error = t(exc.key, **exc.params)
                return
            ui.notify(t("users.password_reset_done"), type="positive")
            dialog.close()

        with ui.row().classes("w-full justify-end"):
            ui.button(t("action.cancel"), on_click=dialog.close).props("flat")
            ui.button(t("action.save"), on_click=save).props("data-test=save-password").mark("save-password")
    dialog.open()


async def token_list(changed: Callable[[], object]) -> None:
    """List the API tokens that are not revoked; `changed` redraws the list."""
    tokens = await ApiToken.filter(revoked_at=None).prefetch_related("user").order_by("-created_at")
    if not tokens:
        ui.label(t("tokens.none")).classes(design.MUTED)
    for token in tokens:
        with ui.card().classes("w-full").props(f"data-token={token.id}"), ui.row().classes("w-full items-center"):
            with ui.column().classes("gap-0 grow"):
                ui.label(token.name).classes("font-semibold")
                ui.label(
                    t(
                        "tokens.meta",
                        user=token.user.username,
                        prefix=token.prefix,
                        created=_fmt(token.created_at),
                        used=_fmt(token.last_used_at),
                    )
                ).classes(design.MUTED)
            ui.button(t("tokens.revoke"), on_click=lambda tok=token: revoke(tok.id, changed)).props(
                "flat color=negative"
            )


async def revoke(token_id: int, changed: Callable[[], object]) -> None:
    """Revoke one token."""
    who = await acting(Permission.MANAGE_USERS)
    if who is None:
        return
    if await revoke_token(token_id):
        await context.appliance().audit.record(
            "token.revoked", who=who, object_type="api_token", object_id=token_id, ip=client_ip()
        )
        ui.notify(t("tokens.revoked"), type="positive")
    changed()


async def token_dialog(done: Callable[[], Awaitable[None] | None]) -> None:
    """Create a token for a user and show it once."""
    users = {u.id: u.username for u in await User.filter(is_active=True)}
    me = context.principal()
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-md"):
        ui.label(t("tokens.create")).classes(design.H2)
        name = form_input("token_name").classes(design.FORM_FIELD)
        owner = form_select("token_user", users, value=me.user_id if me else None).classes(design.FORM_FIELD)
        shown = ui.column().classes("w-full")

        async def create() -> None:
            who = await acting(Permission.MANAGE_USERS)
            if who is None:
                return
            if not (name.value or "").strip():
                name.error = t("error.field.missing")
                return
            user = await User.get_or_none(id=owner.value)
            if user is None:
                owner.error = t("error.not_found")
                return
            row, token = await create_token(user, name.value.strip())
            await context.appliance().audit.record(
                "token.created",
                who=who,
                object_type="api_token",
                object_id=row.id,
                ip=client_ip(),
                detail={"name": row.name, "user": user.username},
            )
            shown.clear()
            with shown:
                ui.label(t("tokens.shown_once")).classes("text-warning font-semibold")
                ui.input(value=token).props("readonly outlined data-test=new-token").mark("new-token").classes(
                    "w-full font-mono"
                )
            create_button.set_visibility(False)
            result = done()
            if result is not None:
                await result

        with ui.row().classes("w-full justify-end"):
            ui.button(t("action.close"), on_click=dialog.close).props("flat")
            create_button = (
                ui.button(t("tokens.create"), on_click=create).props("data-test=save-token").mark("save-token")
            )
    dialog.open()
