"""Debug mode for the relay on a developer's own server (docs 54809–54811). Never used in the zone.

In debug mode WeCom forwards an app's sync_call_program calls to the developer's server instead of
the zone, once two things happened: the app called ``chatdata/open_debug_mode`` with the program id
and the program's debug token (doc 54810), and the process running the SDK called
``spec_open_debug_mode(debug_token, access_token)`` (doc 54810). relay.py imports this module only
when SPEC_DEBUG_TOKEN_FILE is set; ``open_from_env`` then does both, and keeps the SDK's access token
fresh (it lasts about two hours, doc 54810) by fetching a new one at half its life.

Settings (the same names the functions use; secrets come from files, trailing CR/LF ignored):
  SPEC_DEBUG_TOKEN_FILE   a file holding the program's debug token (admin console → 调试)
  WECOM_CORP_ID           the corp id
  WECOM_CORP_SECRET_FILE  a file holding the app's secret (gettoken)
  WECOM_RELAY_PROGRAM_ID  the relay's program id
  WECOM_API_BASE_URL      default https://qyapi.weixin.qq.com
Neither secret nor token is ever logged or printed; errors name the variable or WeCom's errcode.
"""
from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from wwspecapisdk import spec_log_error, spec_log_info

DEFAULT_WECOM_API_BASE_URL = "https://qyapi.weixin.qq.com"
RETRY_SECONDS = 60.0  # after a failed refresh; the old token still has half its life
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to WeCom's API


class DebugModeError(Exception):
    """Debug mode could not be opened; the message names a variable or an errcode, never a secret."""


def _setting(name: str) -> str:
    value = (os.environ.get(name) or "").strip()
    if not value:
        raise DebugModeError(f"{name} is required with SPEC_DEBUG_TOKEN_FILE")
    return value


def _read_secret(variable: str) -> str:
    path = _setting(variable)
    try:
        with open(path, encoding="utf-8") as file:
            value = file.read().rstrip("\r\n")
    except OSError as error:
        raise DebugModeError(f"{variable}: cannot read the file ({type(error).__name__})") from None
    if not value:
        raise DebugModeError(f"{variable}: the file is empty")
    # A trailing line break is not part of a secret; a space or tab at its ends is a mistake to name,
    # not a value to send (WeCom would answer 40001 / 40058 with no hint why).
    if value != value.strip():
        raise DebugModeError(f"{variable}: the secret starts or ends in whitespace; remove it")
    return value


def _wecom(base_url: str, path: str, query: dict[str, str], body: dict[str, str] | None = None) -> dict[str, object]:
    """One call to WeCom's HTTPS API; its JSON answer when errcode is 0, else DebugModeError."""
    name = path.rsplit("/", 1)[-1]
    url = f"{base_url.rstrip('/')}{path}?{urllib.parse.urlencode(query)}"
    data = None if body is None else json.dumps(body).encode("utf-8")
    try:
        # Inside the try: a malformed URL raises ValueError quoting it, and it carries the secret or token.
        request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with _OPENER.open(request, timeout=10) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        error.close()
        raise DebugModeError(f"{name}: WeCom answered HTTP {error.code}") from None
    except (OSError, ValueError) as error:  # the URL carries the secret or token: never in a message
        raise DebugModeError(f"{name}: no answer from WeCom's API ({type(error).__name__})") from None
    errcode = answer.get("errcode") if isinstance(answer, dict) else None
    if errcode != 0:
        raise DebugModeError(f"{name}: WeCom answered errcode {errcode}")
    return answer


def _access_token(base_url: str, corp_id: str, corp_secret: str) -> tuple[str, float]:
    """gettoken: the app's access token and its lifetime in seconds."""
    answer = _wecom(base_url, "/cgi-bin/gettoken", {"corpid": corp_id, "corpsecret": corp_secret})
    token, expires_in = answer.get("access_token"), answer.get("expires_in")
    if not isinstance(token, str) or not token:
        raise DebugModeError("gettoken: WeCom answered no access_token")
    return token, float(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else 7200.0


def _sdk_open(debug_token: str, access_token: str) -> None:
    """The SDK's half (doc 54810). Its own exceptions are reduced to their type: they might quote a token."""
    try:
        from wwspecapisdk import spec_open_debug_mode  # only newer SDK builds have it (doc 54006)

        opened = spec_open_debug_mode(debug_token, access_token)
    except Exception as error:  # noqa: BLE001
        raise DebugModeError(f"spec_open_debug_mode failed ({type(error).__name__})") from None
    if opened is False:
        raise DebugModeError("spec_open_debug_mode refused the debug token or the access token")


def open_from_env() -> None:
    """Open debug mode (the app's call and the SDK's), then refresh the SDK's token in the background.

    Raises DebugModeError when a setting is missing or WeCom refuses (e.g. 40058: a wrong debug token).
    """
    debug_token = _read_secret("SPEC_DEBUG_TOKEN_FILE")
    corp_id, program_id = _setting("WECOM_CORP_ID"), _setting("WECOM_RELAY_PROGRAM_ID")
    corp_secret = _read_secret("WECOM_CORP_SECRET_FILE")
    base_url = (os.environ.get("WECOM_API_BASE_URL") or "").strip() or DEFAULT_WECOM_API_BASE_URL
    try:
        parsed = urllib.parse.urlsplit(base_url)
        valid = parsed.scheme in ("http", "https") and bool(parsed.hostname)
    except ValueError:
        valid = False
    if not valid:
        raise DebugModeError("WECOM_API_BASE_URL: must be an http(s) URL such as https://qyapi.weixin.qq.com")

    token, lifetime = _access_token(base_url, corp_id, corp_secret)
    _wecom(base_url, "/cgi-bin/chatdata/open_debug_mode", {"access_token": token},
           {"program_id": program_id, "debug_token": debug_token})
    _sdk_open(debug_token, token)
    spec_log_info(f"debug mode opened corpid={corp_id!a} program={program_id!a}")

    def refresh() -> None:
        wait = lifetime / 2
        while True:
            time.sleep(max(1.0, wait))
            try:
                fresh, fresh_lifetime = _access_token(base_url, corp_id, corp_secret)
                _sdk_open(debug_token, fresh)
                wait = fresh_lifetime / 2
                spec_log_info("debug mode: the SDK's access token was refreshed")
            except DebugModeError as error:
                spec_log_error(f"debug mode: refresh failed, retrying in {RETRY_SECONDS:.0f}s: {error}")
                wait = RETRY_SECONDS

    threading.Thread(target=refresh, name="relay-debug-token", daemon=True).start()
