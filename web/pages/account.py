"""/account: every user changes their own language and password."""

from __future__ import annotations

from nicegui import ui

from appliance.auth.roles import Permission
from appliance.errors import InvalidCredentials, WeakPassword
from appliance.i18n import LANGUAGES, t, use_language
from web import context, design
from web.access import page
from web.components.forms import form_input, form_select
from web.guard import acting, client_ip
from web.theme import frame


@page("/account", Permission.OWN_ACCOUNT)
def account_page() -> None:
    """Show the user's own settings."""
    me = context.principal()
    assert me is not None
    with frame("nav.account"):
        ui.label(t("account.signed_in_as", username=me.username, role=t(f"role.{me.role.value}"))).classes(design.MUTED)
        with ui.card().classes(design.CARD):
            ui.label(t("account.language")).classes(design.H2)
            language = (
                form_select("language", LANGUAGES, value=me.language)
                .classes("w-full max-w-xs")
                .props("data-test=language")
                .mark("language")
            )

            async def save_language() -> None:
                who = await acting(Permission.OWN_ACCOUNT)
                if who is None:
                    return
                await context.appliance().accounts.set_own_language(who, language.value, ip=client_ip())
                with use_language(language.value):
                    ui.notify(t("account.language_saved"), type="positive")
                ui.timer(1.0, ui.navigate.reload, once=True)  # let the message be read first

            ui.button(t("action.save"), on_click=save_language).props("data-test=save-language").mark("save-language")

        with ui.card().classes(design.CARD):
            ui.label(t("account.change_password")).classes(design.H2)
            current = (
                form_input("current_password", password=True)
                .classes(design.FORM_FIELD)
                .props("autocomplete=current-password")
            )
            new = (
                form_input("new_password", password=True, password_toggle_button=True)
                .classes(design.FORM_FIELD)
                .props("autocomplete=new-password")
            )
            confirm = form_input("password_confirm", password=True).classes(design.FORM_FIELD)
            ui.label(t("hint.password_rules")).classes(design.MUTED)

            async def change() -> None:
                who = await acting(Permission.OWN_ACCOUNT)
                if who is None:
                    return
                current.error = new.error = confirm.error = None
                if new.value != confirm.value:
                    confirm.error = t("error.password_mismatch")
                    return
                try:
                    await context.appliance().accounts.change_own_password(
                        who, current.value or "", new.value or "", ip=client_ip()
                    )
                except InvalidCredentials as exc:
                    current.error = t(exc.key)
                    return
                except WeakPassword as exc:
                    new.error = t(exc.key, **exc.params)
                    return
                current.value = new.value = confirm.value = ""
                ui.notify(t("account.password_changed"), type="positive")

            ui.button(t("account.change_password"), on_click=change).props("data-test=change-password").mark(
                "change-password"
            )
