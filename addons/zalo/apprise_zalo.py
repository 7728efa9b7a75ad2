"""Apprise custom plugin: zalobot://BOT_TOKEN/CHAT_ID sends through the Zalo Bot Platform.

The Zalo Bot API looks like Telegram's: POST {base}/bot{TOKEN}/sendMessage with JSON {chat_id, text},
and sendPhoto with {chat_id, photo, caption}, where `photo` is a web address that Zalo's servers fetch
(there is no upload). It answers JSON {ok, result} or {ok: false, error_code, description}.

- A picture is sent only when the attachment is an http(s) address; a file on the appliance (a detection
  snapshot) cannot be fetched by Zalo, so the text goes alone (it carries the link to the event).
- Texts longer than MAX_TEXT characters are cut.
- `?api=URL` points the plugin at another base address (a proxy, or a test server); the default is the
  Zalo Bot Platform. A token holding ':' may be given as is or percent-encoded.

Apprise loads this file by path (AppriseAsset(plugin_paths=[...])); it imports nothing from WardCam.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import requests
from apprise.decorators import notify
from apprise.logger import logger

DEFAULT_API = "https://bot-api.zaloplatforms.com"
MAX_TEXT = 2000
TIMEOUT_S = (4.0, 8.0)  # connect, read


def _endpoint(meta: dict[str, Any]) -> tuple[str, str, str] | None:
    """Return (api base, token, chat id) from the URL, or None when one is missing."""
    token = unquote(str(meta.get("host") or "")).strip()
    chat = unquote(str(meta.get("fullpath") or "").strip("/")).strip()
    api = str((meta.get("qsd") or {}).get("api") or DEFAULT_API).rstrip("/")
    if not token or not chat or "/" in chat:
        return None
    return api, token, chat


APPRISE_PARAMS = frozenset({"cache", "name", "mime", "verify", "rto", "cto"})


def _photo_url(attach: Any) -> str | None:
    """Return the web address of the first attachment that has one (without Apprise's own parameters)."""
    for item in attach or []:
        url = str(getattr(item, "url", lambda **_: "")(privacy=False) or "")
        if url.startswith(("http://", "https://")):
            parts = urlsplit(url)
            query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in APPRISE_PARAMS])
            return urlunsplit(parts._replace(query=query))
    return None


def _post(api: str, token: str, method: str, payload: dict[str, Any]) -> bool:
    try:
        response = requests.post(f"{api}/bot{token}/{method}", json=payload, timeout=TIMEOUT_S)
    except requests.Timeout:
        logger.warning("A Connection error occurred sending Zalo notification: timed out.")
        return False
    except requests.RequestException as exc:
        logger.warning("A Connection error occurred sending Zalo notification: %s", type(exc).__name__)
        return False
    try:
        answer = response.json()
    except (ValueError, json.JSONDecodeError):
        answer = {}
    if response.status_code == 200 and isinstance(answer, dict) and answer.get("ok") is True:
        return True
    code = response.status_code
    if code == 200 and isinstance(answer, dict):  # ok: false inside a 200
        code = int(answer.get("error_code") or 400)
        code = code if 100 <= code <= 599 else 400
    description = answer.get("description", "") if isinstance(answer, dict) else ""
    logger.warning("Failed to send Zalo notification: %s, error=%d.", str(description)[:200] or "-", code)
    return False


@notify(on="zalobot", name="Zalo Bot")
def send_zalo(body: str, title: str, notify_type: str, meta: dict[str, Any], attach: Any = None,
              *args: Any, **kwargs: Any) -> bool:  # fmt: skip
    """Send the title and body as one Zalo message (with the picture when it has a web address)."""
    endpoint = _endpoint(meta)
    if endpoint is None:
        logger.warning("Failed to send Zalo notification: the URL needs zalobot://TOKEN/CHAT_ID, error=400.")
        return False
    api, token, chat = endpoint
    text = f"{title}\n{body}".strip() if title else body
    text = text[:MAX_TEXT]
    photo = _photo_url(attach)
    if photo is not None:
        return _post(api, token, "sendPhoto", {"chat_id": chat, "photo": photo, "caption": text})
    return _post(api, token, "sendMessage", {"chat_id": chat, "text": text})
