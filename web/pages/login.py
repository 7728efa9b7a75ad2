"""/login: username and password, with throttling after repeated failures."""

from __future__ import annotations

from urllib.parse import quote

from nicegui import ui
from starlette.requests import Request
from starlette.responses import RedirectResponse

from appliance.errors import InvalidCredentials, TooManyAttempts, WardCamError
from appliance.i18n import LANGUAGES, t, use_language
from web import context, design, tickets
from web.access import OPEN, page
from web.components.forms import form_input
from web.components.language import language_links
from web.guard import client_ip
from web.theme import apply_colors


@page("/login", OPEN)
def login(request: Request, lang: str = "vi", next: str = "/") -> RedirectResponse | None:
    """Draw the login form, or go on if this browser is logged in already."""
    target = tickets.safe_next(next)
    if getattr(request.state, "principal", None) is not None:
        return RedirectResponse(target, status_code=303)
    lang = lang if lang in LANGUAGES else "vi"
    with use_language(lang):
        apply_colors()
        ui.page_title(f"{t('login.title')} · WardCam")
    with use_language(lang), ui.card().classes(design.AUTH_CARD):
        language_links(lang, "/login", next=target)
        with ui.row().classes("items-center gap-2"):
            ui.icon("videocam").classes("text-3xl text-primary")
            ui.label(t("login.title")).classes(design.H1)
        username = form_input("username").classes(design.FORM_FIELD).props("autocomplete=username")
        password = (
            form_input("password", password=True).classes(design.FORM_FIELD).props("autocomplete=current-password")
        )
        message = ui.label("").classes(design.ERROR_TEXT)

        async def submit() -> None:
            with use_language(lang):
                message.text = ""
                try:
                    result = await context.appliance().accounts.login(
                        username.value or "", password.value or "", client_ip(), request.headers.get("user-agent", "")
                    )
                except (InvalidCredentials, TooManyAttempts) as exc:
                    message.text = t(exc.key, **exc.params)
                    password.value = ""
                    return
                except WardCamError as exc:
                    message.text = t(exc.key, **exc.params)
                    return
                ui.navigate.to(f"/auth/complete?ticket={tickets.issue(result.token)}&next={quote(target)}")

        password.on("keydown.enter", submit)
        ui.button(t("login.submit"), on_click=submit).classes("w-full").props("data-test=login-submit").mark("submit")
    return None
