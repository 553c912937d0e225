"""Test-only fake of WeCom's Python zone SDK, ``wwspecapisdk`` (doc 54006). Never shipped.

It implements the names doc 54006 documents, with a plain wire instead of WeCom's signing and
encryption, and sends interface calls to this project's zone emulator instead of WeCom's backend.
Put its folder on PYTHONPATH ahead of any real SDK.

FAKE WIRE (what the fake WeCom API in test/support/fakeWecomApi.ts sends to the relay):
  request:  POST, header ``X-Fake-Spec-Signature: <hex HMAC-SHA256 of the raw body bytes>``,
            key = env FAKE_SPEC_SIGNING_KEY (default "fake-spec-signing-key"); body = a JSON object
            {"corpid": str, "agentid": int, "call_type": int, "is_async": bool, "ability_id": str,
             "notify_id": str, "job_info": str, "data": str}
  answer:   body ``{"response_data": <rsp_data>}``; normal headers carry ``X-Fake-Spec-Signature``
            (HMAC of that body); exception headers carry ``X-Fake-Spec-Exception: 1`` instead.
ZONE: ``ChatDataSDK(...).<api_name>(req)`` = ``POST {FAKE_SDK_ZONE_URL}/<api_name>`` with req as
  the body (the emulator's contract, lib/zone/emulator/server.ts); timeout FAKE_SDK_TIMEOUT_SECONDS
  (default 10). Also sent, for tests to check: X-Fake-Sdk-Corpid, X-Fake-Sdk-Agentid, X-Fake-Sdk-Ability-Id.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import sys
import urllib.error
import urllib.request

# Straight to the zone URL, never through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

SIGNATURE_HEADER = "X-Fake-Spec-Signature"
EXCEPTION_HEADER = "X-Fake-Spec-Exception"
SIGNING_KEY_ENV = "FAKE_SPEC_SIGNING_KEY"
DEFAULT_SIGNING_KEY = "fake-spec-signing-key"

# The fields of a decoded call and their JSON types (doc 54006, "获取请求参数-Python").
_FIELDS: dict[str, type] = {
    "corpid": str,
    "agentid": int,
    "call_type": int,
    "is_async": bool,
    "ability_id": str,
    "notify_id": str,
    "job_info": str,
    "data": str,
}


class SpecSDKError(Exception):
    """A failed SDK operation, carrying the SDK's return code (doc 54166: -10001 … -10009)."""

    def __init__(self, errcode: int, message: str) -> None:
        super().__init__(errcode, message)
        self.errcode = errcode


def sign(body: bytes) -> str:
    """The fake wire's signature: lowercase hex HMAC-SHA256 of the raw body bytes."""
    key = os.environ.get(SIGNING_KEY_ENV, DEFAULT_SIGNING_KEY).encode("utf-8")
    return hmac.new(key, body, hashlib.sha256).hexdigest()


class WWToSpecHTTPReqDecoder:
    """Verifies and decodes one call from WeCom (doc 54006, "验签和解密").

    ``headers``: list of (name, value) tuples, names case-insensitive; ``post_data``: the body str.
    Raises SpecSDKError -10004 on a missing or wrong signature, -10009 on a body that is not the
    fake wire's JSON object. A field left out reads as None.
    """

    def __init__(self, headers: list[tuple[str, str]], post_data: str) -> None:
        given = [value for name, value in headers if name.lower() == SIGNATURE_HEADER.lower()]
        raw = post_data.encode("utf-8")
        if len(given) != 1 or not hmac.compare_digest(given[0].strip().lower(), sign(raw)):
            raise SpecSDKError(-10004, "signature mismatch")
        try:
            call = json.loads(raw)
        except ValueError:
            raise SpecSDKError(-10009, "the body is not JSON") from None
        if not isinstance(call, dict):
            raise SpecSDKError(-10009, "the body is not a JSON object")
        for name, kind in _FIELDS.items():
            value = call.get(name)
            wrong_int = kind is int and isinstance(value, bool)
            if value is not None and (not isinstance(value, kind) or wrong_int):
                raise SpecSDKError(-10009, f"{name} must be {kind.__name__}")
        self.corpid, self.agentid, self.data = call.get("corpid"), call.get("agentid"), call.get("data")
        self.call_type, self.is_async, self.job_info = call.get("call_type"), call.get("is_async"), call.get("job_info")
        self.ability_id, self.notify_id = call.get("ability_id"), call.get("notify_id")

    def get_corpid(self) -> str:
        return self.corpid

    def get_agentid(self) -> int:
        return self.agentid

    def get_data(self) -> str:
        return self.data

    def get_call_type(self) -> int:
        return self.call_type

    def get_is_async(self) -> bool:
        return self.is_async

    def get_job_info(self) -> str:
        return self.job_info

    def get_ability_id(self) -> str:
        return self.ability_id

    def get_notify_id(self) -> str:
        return self.notify_id


class WWToSpecHTTPRspConstructor:
    """Builds the answer to a call (doc 54006, "回包"): ``rsp_data`` becomes response_data."""

    def __init__(self, rsp_data: str) -> None:
        if not isinstance(rsp_data, str):
            raise TypeError("rsp_data must be a str")
        self._body = json.dumps({"response_data": rsp_data})

    def get_encoded_body(self) -> str:
        return self._body

    def get_normal_header(self) -> dict[str, str]:
        return {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self._body.encode("utf-8"))}

    def get_exception_header(self) -> dict[str, str]:
        return {"Content-Type": "application/json", EXCEPTION_HEADER: "1"}


class ChatDataSDK:
    """One method per SDK interface (doc 54006, "专区请求企微后台-Python版本"); here only the two
    the relay serves. Each returns the response JSON str, or raises SpecSDKError:
    -10002 connection failure or timeout, -10003 an HTTP status other than 200, -10001 otherwise."""

    def __init__(self, corpid: str, agentid: int, ability_id: str, job_info: str) -> None:
        self.corpid, self.agentid, self.ability_id, self.job_info = corpid, agentid, ability_id, job_info

    def create_program_task(self, req: str) -> str:
        return self._invoke("create_program_task", req)

    def get_program_task_result(self, req: str) -> str:
        return self._invoke("get_program_task_result", req)

    def _invoke(self, api_name: str, req: str) -> str:
        base = os.environ.get("FAKE_SDK_ZONE_URL")
        if not base:
            raise SpecSDKError(-10001, "FAKE_SDK_ZONE_URL is not set")
        request = urllib.request.Request(
            f"{base.rstrip('/')}/{api_name}",
            data=req.encode("utf-8"),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Fake-Sdk-Corpid": self.corpid,
                "X-Fake-Sdk-Agentid": str(self.agentid),
                "X-Fake-Sdk-Ability-Id": self.ability_id,
            },
        )
        timeout = float(os.environ.get("FAKE_SDK_TIMEOUT_SECONDS") or 10)
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            error.close()
            raise SpecSDKError(-10003, f"{api_name}: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            raise SpecSDKError(-10002, f"{api_name}: network failure ({type(error).__name__})") from None
        if status != 200:
            raise SpecSDKError(-10003, f"{api_name}: HTTP {status}")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise SpecSDKError(-10001, f"{api_name}: the answer is not UTF-8") from None


def _log(level: str, args: tuple[object, ...]) -> None:
    line = " ".join(str(arg) for arg in args).replace("\n", " ")
    print(f"{level} {line}", file=sys.stderr, flush=True)


def spec_log_info(*args: object) -> None:
    """INFO log line (doc 54006, "专区程序的日志打印"); here one line on stderr."""
    _log("INFO", args)


def spec_log_error(*args: object) -> None:
    """ERROR log line (doc 54006); here one line on stderr."""
    _log("ERR", args)


def spec_log_debug(*args: object) -> None:
    """DEBUG log line (doc 54006); here one line on stderr."""
    _log("DBG", args)


def spec_open_debug_mode(debug_token: str, access_token: str) -> bool:
    """Open debug mode (doc 54810). The fake only checks both are non-empty, and logs a fingerprint
    (sha256 prefix) of the access token so tests can tell which token it got; never a token itself."""
    if not debug_token or not access_token:
        _log("INFO", ("fake sdk: debug mode refused",))
        return False
    fingerprint = hashlib.sha256(access_token.encode("utf-8")).hexdigest()[:12]
    _log("INFO", (f"fake sdk: debug mode opened, access token sha256 {fingerprint}",))
    return True
