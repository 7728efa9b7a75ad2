"""/onboarding: the owner creates the first admin account. Open only while no user exists."""

from __future__ import annotations

from nicegui import ui

from appliance.errors import InvalidUsername, OnboardingClosed, WardCamError, WeakPassword
from appliance.i18n import LANGUAGES, t, use_language
from web import context, design, tickets
from web.access import ONBOARDING, page
from web.components.forms import form_input
from web.components.language import language_links
from web.guard import client_ip
from web.theme import apply_colors


@page("/onboarding", ONBOARDING)
def onboarding(lang: str = "vi") -> None:
    """Draw the owner-account form."""
    lang = lang if lang in LANGUAGES else "vi"
    with use_language(lang):
        draw(lang)


def draw(lang: str) -> None:
    """Draw the form in one language."""
    apply_colors()
    ui.page_title(f"{t('onboarding.title')} · WardCam")
    with ui.card().classes(design.AUTH_CARD):
        language_links(lang, "/onboarding")
        with ui.row().classes("items-center gap-2 no-wrap"):
            ui.icon("videocam").classes("text-3xl text-primary")
            ui.label(t("onboarding.title")).classes(design.H1)
        ui.label(t("onboarding.intro")).classes(design.MUTED)
        display_name = form_input("display_name").classes(design.FORM_FIELD)
        username = form_input("username").classes(design.FORM_FIELD).props("autocomplete=username")
        password = (
            form_input("password", password=True, password_toggle_button=True)
            .classes(design.FORM_FIELD)
            .props("autocomplete=new-password")
        )
        confirm = (
            form_input("password_confirm", password=True).classes(design.FORM_FIELD).props("autocomplete=new-password")
        )
        ui.label(t("hint.password_rules")).classes(design.MUTED)

        async def submit() -> None:
            with use_language(lang):
                for field in (username, password, confirm):
                    field.error = None
                if password.value != confirm.value:
                    confirm.error = t("error.password_mismatch")
                    return
                accounts = context.appliance().accounts
                try:
                    await accounts.onboard(username.value, password.value, display_name.value, lang, client_ip())
                    result = await accounts.login(username.value, password.value, client_ip())
                except InvalidUsername as exc:
                    username.error = t(exc.key, **exc.params)
                    return
                except WeakPassword as exc:
                    password.error = t(exc.key, **exc.params)
                    return
                except OnboardingClosed:
                    ui.notify(t("error.onboarding_closed"), type="warning")
                    ui.navigate.to("/login")
                    return
                except WardCamError as exc:
                    ui.notify(t(exc.key, **exc.params), type="negative")
                    return
                ui.navigate.to(f"/auth/complete?ticket={tickets.issue(result.token)}&next=/")

        ui.button(t("onboarding.submit"), on_click=submit).classes("w-full").props("data-test=onboarding-submit")
