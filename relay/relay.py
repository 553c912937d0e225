#!/usr/bin/env python3
"""The zone relay: WeCom's sync_call_program reaches the vendor SDK through this program.

An app outside the zone calls ``POST /cgi-bin/chatdata/sync_call_program`` with
``ability_id = "invoke_<api_name>"`` and ``request_data = <the SDK request JSON>`` (doc 53295).
WeCom forwards the call to this program inside the zone, signed and encrypted; the vendor SDK
decodes it (doc 54006), this program calls the SDK interface ``<api_name>`` with the request JSON
as it is, and answers the SDK's response JSON as it is, which WeCom hands back as
``response_data``. That is the convention of WeCom's own Java and C++ demo programs (doc 54166).

Only two abilities are relayed (``ALLOWED_ABILITIES``), only for an app's synchronous call.
Every error answer is ``{"errcode": <int>, "errmsg": <str>}``: an SDK transport code
(-10001 … -10009) when the SDK call fails, ``RELAY_REFUSED`` (-10100) when the call is not one the
relay serves. See relay/README.md.

Two ways to run it:
- standalone: ``python3 relay/relay.py`` serves 0.0.0.0:8080 (``$HOST`` / ``$PORT`` override;
  ``$SPEC_DEBUG_TOKEN_FILE`` first opens debug mode on your own server, see debug_mode.py);
- mounted: a provider's own zone program imports this file and passes its decoded calls for
  ``ALLOWED_ABILITIES`` to ``handle_call``.

Privacy: nothing here logs or echoes request_data, response_data, keys or chat text; logs carry
the corp id, agent id, ability, codes, byte sizes and milliseconds only.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

try:
    from wwspecapisdk import (
        ChatDataSDK,
        WWToSpecHTTPReqDecoder,
        WWToSpecHTTPRspConstructor,
        spec_log_debug,
        spec_log_error,
        spec_log_info,
    )
except ImportError as missing:  # one line, not a traceback: the provider's SDK file is not in place
    if __name__ == "__main__":
        print(f"relay: the vendor SDK is not importable ({missing.name or 'wwspecapisdk'}): put wwspecapisdk.so "
              "(doc 55652's download) beside relay.py and install pycryptodome", file=sys.stderr)
        sys.exit(1)
    raise

ABILITY_PREFIX = "invoke_"
ALLOWED_ABILITIES: frozenset[str] = frozenset({"invoke_create_program_task", "invoke_get_program_task_result"})

APP_CALL = 1  # get_call_type(): 1 = an app's call, 2 = a WeCom event (doc 54006)

# Vendor SDK return codes (doc 54166, "SpecSDK.invoke接口返回值说明"): -10001 internal,
# -10002 network, -10003 bad HTTP status, -10004 signature, -10005 decryption, -10006 unknown API,
# -10008 key version, -10009 bad JSON.
SDK_INTERNAL = -10001
SDK_CODE_RANGE = range(-10009, -10000)
# The relay's own code: the call is not one it serves. Outside the SDK's range and far from any
# WeCom errcode, so a caller can tell "refused by the relay" from "the SDK failed".
RELAY_REFUSED = -10100

MAX_BODY_BYTES = 64 * 1024 * 1024  # a generous bound: only WeCom's backend reaches this port
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
SHUTDOWN_GRACE_SECONDS = 10.0  # how long a stop waits for calls in flight (a create must not be cut off)


class DecodedCall(Protocol):
    """What ``handle_call`` reads: the getters of the SDK's ``WWToSpecHTTPReqDecoder`` (doc 54006)."""

    def get_corpid(self) -> str: ...
    def get_agentid(self) -> int: ...
    def get_call_type(self) -> int: ...
    def get_is_async(self) -> bool: ...
    def get_ability_id(self) -> str: ...
    def get_data(self) -> str: ...


def call_sdk(corpid: str, agentid: int, ability_id: str, api_name: str, request_json: str) -> str:
    """The one place that touches the vendor SDK: one method per interface name (doc 54006).

    Returns the SDK's response JSON; raises when the call itself fails (network, signature, …).
    ``job_info`` is "" for every interface but program_async_job_call_back (doc 54006).
    """
    return getattr(ChatDataSDK(corpid, agentid, ability_id, ""), api_name)(request_json)


def error_answer(errcode: int, errmsg: str) -> str:
    """An error in the shape every relayed ability's output protocol holds."""
    return json.dumps({"errcode": errcode, "errmsg": errmsg})


def sdk_code_of(error: BaseException) -> int:
    """The SDK transport code an exception carries, else SDK_INTERNAL (-10001).

    The Python SDK documents only that a failed call raises (doc 54006), not what it raises. Looked
    at, in order: an ``errcode``, ``code`` or ``ret`` attribute, then the first argument; the first
    int (not bool) in -10009 … -10001 wins. The exception's message is never read: it might quote data.
    """
    candidates = [getattr(error, name, None) for name in ("errcode", "code", "ret")]
    candidates.append(error.args[0] if error.args else None)
    for candidate in candidates:
        if isinstance(candidate, int) and not isinstance(candidate, bool) and candidate in SDK_CODE_RANGE:
            return candidate
    return SDK_INTERNAL


def _short(text: object, limit: int = 64) -> str:
    """An id for a log line or errmsg: ASCII-escaped (no control characters, whatever the locale the
    zone leaves us) and bounded (the SDK keeps 128 bytes of a log line, doc 54006)."""
    shown = ascii(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _refusal(call: DecodedCall) -> str | None:
    """Why the relay does not serve this call, or None when it does."""
    if call.get_call_type() != APP_CALL:
        return f"call_type {_short(call.get_call_type())} is not an app's call; the relay serves call_type 1"
    if call.get_is_async():
        return "asynchronous calls are not relayed; call sync_call_program"
    ability = call.get_ability_id()
    if ability not in ALLOWED_ABILITIES:
        return f"ability {_short(ability)} is not relayed; allowed: {', '.join(sorted(ALLOWED_ABILITIES))}"
    corpid, agentid = call.get_corpid(), call.get_agentid()
    if not isinstance(corpid, str) or not corpid:
        return "the call carries no corpid"
    if not isinstance(agentid, int) or isinstance(agentid, bool):
        return "the call carries no agentid"
    data = call.get_data()
    if not isinstance(data, str) or not data:
        return "the call carries no request_data"
    return None


def handle_call(call: DecodedCall) -> str:
    """Answer one decoded call: the SDK's response JSON verbatim, or an error JSON.

    Refused calls (not an app's synchronous call to an allowed ability, or missing data) answer
    RELAY_REFUSED and never reach the SDK; a failed SDK call answers its transport code
    (``sdk_code_of``). Never raises for a well-formed decoder object.

    Example (mounted into a provider's own zone program):
        req = WWToSpecHTTPReqDecoder(headers, body)
        answer = relay.handle_call(req) if req.get_ability_id() in relay.ALLOWED_ABILITIES else mine(req)
    """
    started = time.monotonic()
    ability = call.get_ability_id()
    where = f"corpid={_short(call.get_corpid(), 40)} agentid={_short(call.get_agentid(), 16)} ability={_short(ability, 48)}"
    refusal = _refusal(call)
    if refusal is not None:
        spec_log_info(f"refused {where} errcode={RELAY_REFUSED}")
        return error_answer(RELAY_REFUSED, refusal)
    request_json = call.get_data()
    api_name = ability[len(ABILITY_PREFIX):]
    try:
        answer = call_sdk(call.get_corpid(), call.get_agentid(), ability, api_name, request_json)
        if not isinstance(answer, str):
            raise TypeError("the SDK answered a non-string")
    except Exception as error:  # noqa: BLE001 - any SDK failure becomes an error answer, never a crash
        code = sdk_code_of(error)
        spec_log_error(f"sdk failed {where} errcode={code} kind={type(error).__name__} {_elapsed(started)}")
        return error_answer(code, f"{api_name}: the zone SDK call failed with {code}")
    spec_log_info(
        f"relayed {where} errcode={_errcode_in(answer)} in={len(request_json.encode())}B "
        f"out={len(answer.encode())}B {_elapsed(started)}"
    )
    return answer


def _errcode_in(answer: str) -> str:
    """The errcode of the SDK's answer, for the log line only (never the answer itself)."""
    try:
        errcode = json.loads(answer).get("errcode")
    except (ValueError, AttributeError):
        return "?"
    return str(errcode) if isinstance(errcode, int) else "?"


def _elapsed(started: float) -> str:
    return f"{round((time.monotonic() - started) * 1000)}ms"


class _InFlight:
    """Counts requests being answered, so a stop can let them finish (bounded)."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def __enter__(self) -> None:
        with self._changed:
            self._count += 1

    def __exit__(self, *_: object) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being answered; False when the timeout ran out first."""
        with self._changed:
            if self._count:
                spec_log_info(f"relay stopping: waiting for {self._count} call(s) in flight")
            return self._changed.wait_for(lambda: self._count == 0, timeout)


class RelayHandler(BaseHTTPRequestHandler):
    """Every path, POST only. The decoder and the constructor run in the same request thread."""

    server_version = "wecom-zone-relay"
    timeout = 60  # seconds per socket read or write: a stalled connection does not hold a thread forever
    in_flight = _InFlight()

    def do_POST(self) -> None:  # noqa: N802 - the name http.server looks up
        with self.in_flight:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY_BYTES:
                self._plain(413 if length > 0 else 400, f"Content-Length must be a number from 0 to {MAX_BODY_BYTES}")
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            try:
                call = WWToSpecHTTPReqDecoder(list(self.headers.items()), body)
            except Exception as error:  # noqa: BLE001 - signature or decryption failed (doc 54006)
                code = sdk_code_of(error)
                spec_log_error(f"decode failed errcode={code} kind={type(error).__name__} in={length}B")
                self._sdk_answer(error_answer(code, "the call could not be decoded"), exception=True)
                return
            self._sdk_answer(handle_call(call), exception=False)

    def _sdk_answer(self, rsp_data: str, exception: bool) -> None:
        """Sign and encrypt through the SDK: normal headers, or the exception headers after a failed decode."""
        try:
            rsp = WWToSpecHTTPRspConstructor(rsp_data)
            headers = rsp.get_exception_header() if exception else rsp.get_normal_header()
            body = rsp.get_encoded_body().encode("utf-8")
        except Exception as error:  # noqa: BLE001 - the constructor raises when it cannot build (doc 54006)
            spec_log_error(f"encode failed errcode={SDK_INTERNAL} kind={type(error).__name__}")
            self._plain(500, "the SDK could not encode the answer", SDK_INTERNAL)
            return
        self._send(200, dict(headers), body)

    def _plain(self, status: int, errmsg: str, errcode: int = RELAY_REFUSED) -> None:
        """An answer without the SDK: the request never was a decodable call."""
        extra = {"Allow": "POST"} if status == 405 else {}
        self._send(status, {"Content-Type": "application/json", **extra}, error_answer(errcode, errmsg).encode())

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.close_connection = True
        try:
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # WeCom stopped waiting (its timeout, 710675): the answer is lost, the SDK call happened.
            spec_log_error(f"answer not delivered: the caller hung up status={status} out={len(body)}B")

    def _method_not_allowed(self) -> None:
        self._plain(405, f"method {self.command} is not served; only POST")

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _method_not_allowed

    # A garbled request line would otherwise be answered as HTTP/0.9: no status line at all.
    default_request_version = "HTTP/1.1"

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, unknown method) as JSON, not HTML. Its message
        quotes the request line (which may hold anything): only the status's own phrase is sent."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self._plain(code, phrase.lower())

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One debug line per answer: method and status only (a path or request line is not logged)."""
        method = self.command if self.command in KNOWN_METHODS else "other"
        spec_log_debug(f"http {method} {code}")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        """http.server's own messages quote request lines: keep only their numbers."""
        spec_log_debug("http " + " ".join(str(arg) for arg in args if isinstance(arg, int)))


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    """The relay's HTTP server, bound (port 0: any free port), not yet serving."""
    return ThreadingHTTPServer((host, port), RelayHandler)


def serve(host: str, port: int, server: ThreadingHTTPServer | None = None) -> int:
    """Serve until SIGINT or SIGTERM, let calls in flight finish (bounded), close, and return 0."""
    server = server or make_server(host, port)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, args=(0.1,), name="relay-http", daemon=True).start()
    bound_host, bound_port = server.server_address[:2]
    print(f"relay listening on http://{bound_host}:{bound_port}", flush=True)
    stop.wait()
    spec_log_info("relay stopping")
    server.shutdown()
    if not RelayHandler.in_flight.wait_idle(SHUTDOWN_GRACE_SECONDS):
        spec_log_error("stopping with calls still in flight")
    server.server_close()
    spec_log_info("relay stopped")
    return 0


def main() -> int:
    host = os.environ.get("HOST") or "0.0.0.0"
    try:
        port = int(os.environ.get("PORT") or 8080)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        print("relay: PORT must be a port number (0-65535)", file=sys.stderr)
        return 2
    # Bound before debug mode opens: WeCom must never forward calls to a port this process cannot hold.
    try:
        server = make_server(host, port)
    except (OSError, OverflowError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        print(f"relay: cannot listen on {host}:{port} ({reason}); set HOST / PORT", file=sys.stderr)
        return 1
    if os.environ.get("SPEC_DEBUG_TOKEN_FILE"):
        # Debug mode on your own server (docs 54809-54811); the module sits beside this file.
        import debug_mode

        try:
            debug_mode.open_from_env()
        except debug_mode.DebugModeError as error:  # names a variable or an errcode, never a secret
            server.server_close()
            print(f"relay: could not open debug mode: {error}", file=sys.stderr)
            return 1
    return serve(host, port, server)


if __name__ == "__main__":
    sys.exit(main())
