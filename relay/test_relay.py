"""Tests of the zone relay over real HTTP: the fake WeCom wire in, the fake vendor SDK
(test/support/fake_sdk, doc 54006), a stand-in zone playing the emulator's contract
(``POST <base>/<api_name>``) behind it, and the relay as its own process where that matters.

Run from the repository root: ``python3 -m unittest discover -s relay``.
"""
from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FAKE_SDK = ROOT / "test" / "support" / "fake_sdk"
# The fake SDK goes first, ahead of any real wwspecapisdk on the machine.
for entry in (str(HERE), str(FAKE_SDK)):
    if entry in sys.path:
        sys.path.remove(entry)
    sys.path.insert(0, entry)

import relay  # noqa: E402
import wwspecapisdk  # noqa: E402

if Path(wwspecapisdk.__file__).resolve().parent != FAKE_SDK:
    raise ImportError(f"the tests must run against the fake SDK, not {wwspecapisdk.__file__}")

CREATE = "invoke_create_program_task"
RESULT = "invoke_get_program_task_result"
CORP, AGENT = "wwcorp0001", 1000002
# Odd spacing and non-ASCII on purpose: "verbatim" means byte for byte, not "the same JSON".
CREATE_REQUEST = '{"program_id":"p-1",  "ability_id":"a-1","msg_list":[{"msgid":"m-é"}] ,"escape_type":1}'
CREATE_ANSWER = '{ "errcode":0,"errmsg":"ok" ,"jobid":"job-1","fail_list":[],"note":"分析"}'


class StandInZone:
    """The emulator's HTTP contract, scripted: records what arrives, answers what it is told."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 200
        self.answer = CREATE_ANSWER.encode("utf-8")
        self.hold = False  # answer only once `release` is set
        self.release = threading.Event()
        self.arrived = threading.Event()
        zone = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                zone.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                zone.arrived.set()
                if zone.hold:
                    zone.release.wait(30)
                self.send_response(zone.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(zone.answer)))
                self.end_headers()
                self.wfile.write(zone.answer)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A caller that gave up (the SDK timed out) leaves a broken pipe: expected, not worth a traceback.
        self.server.handle_error = lambda *_: None  # type: ignore[method-assign]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class StandInWecom:
    """WeCom's gettoken and chatdata/open_debug_mode (doc 54810), for the relay's debug mode."""

    def __init__(self, corp_secret: str, debug_token: str, expires_in: int = 7200) -> None:
        self.tokens: list[str] = []
        self.opened: list[dict[str, object]] = []
        wecom = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path != "/cgi-bin/gettoken" or query.get("corpsecret") != corp_secret:
                    return self.answer({"errcode": 40001, "errmsg": "invalid secret"})
                wecom.tokens.append(f"ACCESS-MARKER-{len(wecom.tokens) + 1}")
                self.answer({"errcode": 0, "errmsg": "ok", "access_token": wecom.tokens[-1], "expires_in": expires_in})

            def do_POST(self) -> None:  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                if dict(urllib.parse.parse_qsl(url.query)).get("access_token") not in wecom.tokens:
                    return self.answer({"errcode": 40014, "errmsg": "invalid access_token"})
                if url.path != "/cgi-bin/chatdata/open_debug_mode" or body.get("debug_token") != debug_token:
                    return self.answer({"errcode": 40058, "errmsg": "invalid debug_token"})
                wecom.opened.append(body)
                self.answer({"errcode": 0, "errmsg": "ok"})

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def fingerprint(token: str) -> str:
    """How the fake SDK's spec_open_debug_mode names the access token it got."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def wire_call(ability_id: str = CREATE, data: str | None = CREATE_REQUEST, **fields: object) -> bytes:
    """A call as the fake WeCom API sends it (the fake wire, test/support/fake_sdk/wwspecapisdk.py)."""
    call: dict[str, object] = {
        "corpid": CORP, "agentid": AGENT, "call_type": 1, "is_async": False,
        "ability_id": ability_id, "notify_id": "", "job_info": "", "data": data,
    }
    call.update(fields)
    return json.dumps({k: v for k, v in call.items() if v is not None}).encode("utf-8")


def post(url: str, body: bytes, signature: str | None = "sign", method: str = "POST", path: str = "/") -> tuple[int, dict[str, str], bytes]:
    """One real HTTP request; returns status, headers (lowercase names) and body."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Fake-Spec-Signature"] = wwspecapisdk.sign(body)
    elif signature is not None:
        headers["X-Fake-Spec-Signature"] = signature
    try:
        connection.request(method, path, body=body if method != "GET" else None, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


class RelayTestCase(unittest.TestCase):
    """A zone and a relay (in this process, served over loopback HTTP) per test."""

    timeout_seconds = "5"

    def setUp(self) -> None:
        self.zone = StandInZone()
        self.addCleanup(self.zone.close)
        environment = {"FAKE_SDK_ZONE_URL": self.zone.url, "FAKE_SDK_TIMEOUT_SECONDS": self.timeout_seconds}
        patcher = mock.patch.dict(os.environ, environment)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.logs = io.StringIO()  # the SDK's log lines, kept off the test output
        stderr = mock.patch("sys.stderr", self.logs)
        stderr.start()
        self.addCleanup(stderr.stop)
        self.server = relay.make_server("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)

    def relayed(self, body: bytes, **options: object) -> str:
        """POST a call; check the answer is the SDK's normal, correctly signed one; return response_data."""
        status, headers, answer = post(self.url, body, **options)  # type: ignore[arg-type]
        self.assertEqual(status, 200)
        self.assertNotIn("x-fake-spec-exception", headers)
        self.assertEqual(headers["x-fake-spec-signature"], wwspecapisdk.sign(answer))
        return json.loads(answer)["response_data"]

    def assertErrorAnswer(self, answer: str | bytes, errcode: int) -> str:
        """Every error the relay answers: a JSON object with an int errcode and a str errmsg, nothing else."""
        error = json.loads(answer)
        self.assertEqual(set(error), {"errcode", "errmsg"})
        self.assertIs(type(error["errcode"]), int)
        self.assertIsInstance(error["errmsg"], str)
        self.assertEqual(error["errcode"], errcode)
        return error["errmsg"]


class ForwardingTest(RelayTestCase):
    def test_create_request_reaches_the_zone_byte_for_byte_and_its_answer_comes_back_verbatim(self) -> None:
        response_data = self.relayed(wire_call(CREATE, CREATE_REQUEST))

        self.assertEqual(response_data, CREATE_ANSWER)
        [(path, _, body)] = self.zone.requests
        self.assertEqual(path, "/create_program_task")
        self.assertEqual(body, CREATE_REQUEST.encode("utf-8"))

    def test_result_request_goes_to_get_program_task_result(self) -> None:
        pending = '{"errcode":710642,"errmsg":"result not ready"}'
        self.zone.answer = pending.encode()

        response_data = self.relayed(wire_call(RESULT, '{"jobid":"job-1"}'))

        self.assertEqual(response_data, pending)
        [(path, _, body)] = self.zone.requests
        self.assertEqual((path, body), ("/get_program_task_result", b'{"jobid":"job-1"}'))

    def test_the_sdk_is_called_as_the_calling_corp_and_agent_with_the_ability(self) -> None:
        self.relayed(wire_call(RESULT, '{"jobid":"j"}', corpid="wwOtherCorp", agentid=42))

        [(_, headers, _)] = self.zone.requests
        self.assertEqual(headers["x-fake-sdk-corpid"], "wwOtherCorp")
        self.assertEqual(headers["x-fake-sdk-agentid"], "42")
        self.assertEqual(headers["x-fake-sdk-ability-id"], RESULT)

    def test_a_zone_errcode_is_an_answer_not_a_relay_error(self) -> None:
        duplicate = '{"errcode":0,"errmsg":"ok","jobid":"j","fail_list":[{"errcode":710613,"errmsg":"dup","msgid":"m"}]}'
        self.zone.answer = duplicate.encode()

        self.assertEqual(self.relayed(wire_call()), duplicate)


class RefusalTest(RelayTestCase):
    def assertRefused(self, body: bytes, *named: str) -> None:
        errmsg = self.assertErrorAnswer(self.relayed(body), relay.RELAY_REFUSED)
        for word in named:
            self.assertIn(word, errmsg)
        self.assertEqual(self.zone.requests, [], "a refused call must never reach the SDK")

    def test_a_wecom_event_call_type_2_is_refused(self) -> None:
        self.assertRefused(wire_call(call_type=2), "call_type 2")

    def test_an_asynchronous_call_is_refused(self) -> None:
        self.assertRefused(wire_call(is_async=True), "asynchronous")

    def test_only_the_two_allowed_abilities_are_relayed(self) -> None:
        for ability in ("invoke_sync_msg", "create_program_task", "invoke_", "invoke_create_program_task_x",
                        "get_callback_data", "INVOKE_CREATE_PROGRAM_TASK", "invoke___class__", "invoke_分析"):
            with self.subTest(ability=ability):
                self.assertRefused(wire_call(ability), ascii(ability), CREATE, RESULT)

    def test_a_decoded_call_without_request_data_is_refused(self) -> None:
        self.assertRefused(wire_call(data=None), "request_data")
        self.assertRefused(wire_call(data=""), "request_data")

    def test_a_decoded_call_without_corp_or_agent_is_refused(self) -> None:
        self.assertRefused(wire_call(corpid=""), "corpid")
        self.assertRefused(json.dumps({**json.loads(wire_call()), "agentid": None}).encode(), "agentid")

    def test_methods_other_than_post_get_a_json_405(self) -> None:
        for method in ("GET", "PUT", "DELETE", "PATCH", "OPTIONS"):
            with self.subTest(method=method):
                status, headers, body = post(self.url, wire_call(), method=method)
                self.assertEqual(status, 405)
                self.assertEqual(headers["allow"], "POST")
                self.assertIn(method, self.assertErrorAnswer(body, relay.RELAY_REFUSED))
        status, _, body = post(self.url, wire_call(), method="BREW")
        self.assertEqual(status, 501)
        self.assertErrorAnswer(body, relay.RELAY_REFUSED)
        self.assertEqual(self.zone.requests, [])

    def test_a_call_that_fails_to_decode_gets_the_exception_headers(self) -> None:
        cases = {
            "wrong signature": (wire_call(), "0" * 64, -10004),
            "no signature": (wire_call(), None, -10004),
            "signed, not JSON": (b"{not json", "sign", -10009),
            "signed, agentid a string": (wire_call(agentid="1"), "sign", -10009),
        }
        for name, (body, signature, errcode) in cases.items():
            with self.subTest(name):
                status, headers, answer = post(self.url, body, signature=signature)
                self.assertEqual(status, 200)
                self.assertEqual(headers["x-fake-spec-exception"], "1")
                self.assertNotIn("x-fake-spec-signature", headers)
                self.assertErrorAnswer(json.loads(answer)["response_data"], errcode)
        self.assertEqual(self.zone.requests, [])

    def test_a_bad_content_length_is_a_json_400(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.server.server_address[1], timeout=10)
        connection.putrequest("POST", "/")
        connection.putheader("Content-Length", "many")
        connection.endheaders()
        response = connection.getresponse()
        self.assertEqual(response.status, 400)
        self.assertErrorAnswer(response.read(), relay.RELAY_REFUSED)
        connection.close()


class SdkFailureTest(RelayTestCase):
    timeout_seconds = "0.5"

    def test_zone_unreachable_answers_minus_10002(self) -> None:
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            os.environ["FAKE_SDK_ZONE_URL"] = f"http://127.0.0.1:{probe.getsockname()[1]}"
            errmsg = self.assertErrorAnswer(self.relayed(wire_call()), -10002)
        self.assertIn("create_program_task", errmsg)

    def test_zone_answering_other_than_200_answers_minus_10003(self) -> None:
        for status in (500, 404, 400):
            with self.subTest(status=status):
                self.zone.status, self.zone.answer = status, b'{"sdk_code":-10006,"message":"nope"}'
                self.assertErrorAnswer(self.relayed(wire_call(RESULT, '{"jobid":"j"}')), -10003)

    def test_zone_slower_than_the_sdk_timeout_answers_minus_10002(self) -> None:
        self.zone.hold = True  # released at cleanup, long after the 0.5 s SDK timeout

        self.assertErrorAnswer(self.relayed(wire_call()), -10002)
        self.assertEqual(len(self.zone.requests), 1)


class HandleCallTest(RelayTestCase):
    """The module a provider mounts: a decoded call in, the answer JSON out, no server."""

    def decoded(self, body: bytes) -> wwspecapisdk.WWToSpecHTTPReqDecoder:
        return wwspecapisdk.WWToSpecHTTPReqDecoder([("x-fake-spec-signature", wwspecapisdk.sign(body))], body.decode())

    def test_handle_call_answers_the_sdk_json_verbatim(self) -> None:
        self.assertEqual(relay.handle_call(self.decoded(wire_call())), CREATE_ANSWER)

    def test_handle_call_refuses_without_the_sdk(self) -> None:
        with mock.patch.object(relay, "call_sdk") as call_sdk:
            self.assertErrorAnswer(relay.handle_call(self.decoded(wire_call("invoke_sync_msg"))), relay.RELAY_REFUSED)
        call_sdk.assert_not_called()

    def test_an_sdk_exception_answers_the_code_it_carries_else_minus_10001(self) -> None:
        class CodeError(Exception):
            def __init__(self, **attributes: object) -> None:
                super().__init__("failed")
                self.__dict__.update(attributes)

        cases: list[tuple[BaseException, int]] = [
            (CodeError(errcode=-10006), -10006),
            (CodeError(code=-10008), -10008),
            (CodeError(ret=-10005), -10005),
            (RuntimeError(-10009, "bad json"), -10009),
            (RuntimeError(-10010), -10001),  # out of the SDK's range
            (RuntimeError(True), -10001),  # a bool is not a code
            (CodeError(errcode="-10002"), -10001),  # nor is a string
            (RuntimeError("ret=-10002"), -10001),  # messages are never parsed
            (TimeoutError(), -10001),
        ]
        for error, errcode in cases:
            with self.subTest(error=repr(error)), mock.patch.object(relay, "call_sdk", side_effect=error):
                self.assertErrorAnswer(relay.handle_call(self.decoded(wire_call())), errcode)

    def test_an_sdk_answer_that_is_not_a_string_answers_minus_10001(self) -> None:
        with mock.patch.object(relay, "call_sdk", return_value=b"{}"):
            self.assertErrorAnswer(relay.handle_call(self.decoded(wire_call())), -10001)


class RelayProcess:
    """``python3 relay/relay.py`` as its own process; its stdout and stderr collected line by line."""

    def __init__(self, zone_url: str, **env: str) -> None:
        environment = {
            **os.environ, "HOST": "127.0.0.1", "PORT": "0", "PYTHONPATH": str(FAKE_SDK),
            "FAKE_SDK_ZONE_URL": zone_url, "FAKE_SDK_TIMEOUT_SECONDS": "5", **env,
        }
        self.child = subprocess.Popen(
            [sys.executable, str(HERE / "relay.py")], env=environment, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
        )
        self.signalled = False
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._collect, daemon=True).start()
        self.url = self.wait_for(r"relay listening on (http://\S+)").group(1)

    def _collect(self) -> None:
        assert self.child.stdout is not None
        for line in self.child.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        self.child.stdout.close()
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        with self.changed:
            found = self.changed.wait_for(lambda: self._match(pattern) or self.child.poll() is not None, timeout)
            match = self._match(pattern)
        if not found or match is None:
            self.stop()
            raise AssertionError(f"no line matching {pattern!r}; output: {self.output()}")
        return match

    def _match(self, pattern: str) -> re.Match[str] | None:
        return next((m for m in (re.search(pattern, line) for line in self.lines) if m), None)

    def output(self) -> str:
        with self.changed:
            return "\n".join(self.lines)

    def send(self, signum: int) -> None:
        if self.child.poll() is None:
            self.child.send_signal(signum)
            self.signalled = True

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send the signal (unless one was sent), wait for the exit, return the exit code.
        One signal only: a second one during interpreter shutdown meets the default handler."""
        if not self.signalled or signum == signal.SIGKILL:
            self.send(signum)
        try:
            return self.child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()
            raise AssertionError("the relay did not exit within 20 s of the signal") from None


class StandaloneProcessTest(unittest.TestCase):
    def setUp(self) -> None:
        self.zone = StandInZone()
        self.addCleanup(self.zone.close)

    def start(self, **env: str) -> RelayProcess:
        process = RelayProcess(self.zone.url, **env)
        self.addCleanup(process.stop, signal.SIGKILL)
        return process

    def relayed(self, process: RelayProcess, body: bytes, **options: object) -> str:
        status, headers, answer = post(process.url, body, **options)  # type: ignore[arg-type]
        self.assertEqual(status, 200, answer)
        self.assertEqual(headers.get("x-fake-spec-signature"), wwspecapisdk.sign(answer))
        return json.loads(answer)["response_data"]

    def test_serves_a_round_trip_then_exits_0_on_sigterm_and_on_sigint(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=signum.name):
                process = self.start()
                self.assertEqual(self.relayed(process, wire_call()), CREATE_ANSWER)
                self.assertEqual(process.stop(signum), 0, process.output())
                self.assertIn("INFO relay stopped", process.output())
                startup = [line for line in process.output().splitlines() if "listening" in line]
                self.assertEqual(len(startup), 1)

    def test_a_stop_lets_a_call_in_flight_finish(self) -> None:
        process = self.start()
        self.zone.hold = True
        answers: list[str] = []
        caller = threading.Thread(target=lambda: answers.append(self.relayed(process, wire_call())))
        caller.start()
        self.assertTrue(self.zone.arrived.wait(20))

        process.send(signal.SIGTERM)
        process.wait_for(r"waiting for 1 call\(s\) in flight")
        self.assertIsNone(process.child.poll(), "the relay exited with a call in flight")
        self.zone.release.set()
        caller.join(20)

        self.assertEqual(answers, [CREATE_ANSWER])
        self.assertEqual(process.stop(), 0, process.output())

    def test_a_bad_port_exits_2_naming_it(self) -> None:
        result = subprocess.run(
            [sys.executable, str(HERE / "relay.py")], cwd=ROOT, capture_output=True, text=True, timeout=20,
            env={**os.environ, "PORT": "http", "PYTHONPATH": str(FAKE_SDK)},
        )
        self.assertEqual(result.returncode, 2)
        self.assertIn("PORT", result.stderr)

    def test_logs_hold_no_request_data_response_data_keys_chat_or_tokens(self) -> None:
        secret, chat, debug_token, corp_secret = "SECRET-MARKER-7f3a", "CHAT-MARKER-91c2", "DEBUG-MARKER-55", "CORP-SECRET-MARKER-44"
        wecom = StandInWecom(corp_secret, debug_token)
        self.addCleanup(wecom.close)
        process = self.start(**debug_settings(self, wecom, debug_token, corp_secret))
        request = json.dumps({
            "program_id": "p", "ability_id": "a",
            "msg_list": [{"msgid": "m1", "encrypt_info": {"secret_key": secret}}],
            "debug_info": {"chat": chat, "chat_content": chat},
        })
        self.zone.answer = json.dumps({
            "errcode": 0, "errmsg": chat, "jobid": "j",
            "fail_list": [{"errcode": 710603, "errmsg": chat, "msgid": "m1", "encrypt_info": {"secret_key": secret}}],
        }).encode()

        answered = self.relayed(process, wire_call(CREATE, request))  # relayed, both ways
        self.relayed(process, wire_call("invoke_sync_msg", request))  # refused
        self.relayed(process, wire_call(CREATE, request, is_async=True))  # refused
        post(process.url, wire_call(CREATE, request), signature="0" * 64)  # fails to decode
        post(process.url, b'{"data": "' + secret.encode() + b'"', signature="sign")  # signed, not JSON
        post(process.url, b"", method="GET", path=f"/{secret}?chat={chat}")  # not POST
        post(process.url, b"", method=secret, path=f"/{chat}")  # not even a method
        self.zone.status = 500
        self.relayed(process, wire_call(RESULT, json.dumps({"jobid": secret})))  # the SDK fails
        self.assertEqual(process.stop(), 0)

        self.assertIn(secret, answered)  # the markers did pass through the relay
        logs = process.output()
        for expected in ("INFO debug mode opened", "relayed corpid='wwcorp0001' agentid=1000002", "refused", "decode failed", "sdk failed"):
            self.assertIn(expected, logs)
        self.assertEqual(len(wecom.tokens), 1)
        for marker in (secret, chat, debug_token, corp_secret, *wecom.tokens):
            self.assertNotIn(marker, logs)


def debug_settings(test: unittest.TestCase, wecom: StandInWecom, debug_token: str, corp_secret: str, **overrides: str) -> dict[str, str]:
    """The relay's debug-mode settings, the secrets in files as `echo … > file` writes them."""
    directory = tempfile.TemporaryDirectory(prefix="relay-debug-")
    test.addCleanup(directory.cleanup)
    token_file, secret_file = Path(directory.name, "debug-token"), Path(directory.name, "corp-secret")
    token_file.write_text(debug_token + "\n")
    secret_file.write_text(corp_secret + "\r\n")
    return {
        "SPEC_DEBUG_TOKEN_FILE": str(token_file), "WECOM_CORP_ID": CORP, "WECOM_CORP_SECRET_FILE": str(secret_file),
        "WECOM_RELAY_PROGRAM_ID": "RELAY_PROGRAM", "WECOM_API_BASE_URL": wecom.url, **overrides,
    }


class DebugModeTest(unittest.TestCase):
    """Debug mode on a developer's server (docs 54809-54811): the app's open_debug_mode call and the SDK's."""

    DEBUG_TOKEN, CORP_SECRET = "DEBUG-MARKER-55", "CORP-SECRET-MARKER-44"

    def setUp(self) -> None:
        self.zone = StandInZone()
        self.addCleanup(self.zone.close)
        self.wecom = StandInWecom(self.CORP_SECRET, self.DEBUG_TOKEN, expires_in=2)
        self.addCleanup(self.wecom.close)

    def test_opens_debug_mode_with_the_apps_token_and_keeps_the_sdks_token_fresh(self) -> None:
        process = RelayProcess(self.zone.url, **debug_settings(self, self.wecom, self.DEBUG_TOKEN, self.CORP_SECRET))
        self.addCleanup(process.stop, signal.SIGKILL)

        self.assertEqual(self.wecom.opened, [{"program_id": "RELAY_PROGRAM", "debug_token": self.DEBUG_TOKEN}])
        process.wait_for(f"debug mode opened, access token sha256 {fingerprint('ACCESS-MARKER-1')}")
        process.wait_for("debug mode opened corpid='wwcorp0001' program='RELAY_PROGRAM'")
        # expires_in 2: a fresh token reaches the SDK after half of that, and again after half of its.
        for token in ("ACCESS-MARKER-2", "ACCESS-MARKER-3"):
            process.wait_for(f"debug mode opened, access token sha256 {fingerprint(token)}")
        process.wait_for("the SDK's access token was refreshed")
        status, _, _ = post(process.url, wire_call())
        self.assertEqual(status, 200)
        self.assertEqual(process.stop(), 0)

        for marker in (self.DEBUG_TOKEN, self.CORP_SECRET, *self.wecom.tokens):
            self.assertNotIn(marker, process.output())

    def test_a_debug_mode_that_cannot_open_exits_1_naming_the_cause(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            nobody = f"http://127.0.0.1:{probe.getsockname()[1]}"
            cases = {
                "open_debug_mode: WeCom answered errcode 40058": ("WRONG-DEBUG-MARKER", self.CORP_SECRET, {}),
                "gettoken: WeCom answered errcode 40001": (self.DEBUG_TOKEN, "WRONG-SECRET-MARKER", {}),
                "WECOM_RELAY_PROGRAM_ID is required": (self.DEBUG_TOKEN, self.CORP_SECRET, {"WECOM_RELAY_PROGRAM_ID": " "}),
                "SPEC_DEBUG_TOKEN_FILE: cannot read the file": (self.DEBUG_TOKEN, self.CORP_SECRET, {"SPEC_DEBUG_TOKEN_FILE": "/nonexistent/t"}),
                "gettoken: no answer from WeCom's API": (self.DEBUG_TOKEN, self.CORP_SECRET, {"WECOM_API_BASE_URL": nobody}),
                "WECOM_CORP_SECRET_FILE: the secret starts or ends in whitespace": (self.DEBUG_TOKEN, self.CORP_SECRET + " ", {}),
                # Without a scheme urllib's ValueError would quote the URL, and with it the corp secret.
                "WECOM_API_BASE_URL: must be an http(s) URL": (self.DEBUG_TOKEN, self.CORP_SECRET, {"WECOM_API_BASE_URL": "qyapi.weixin.qq.com"}),
            }
            for expected, (debug_token, corp_secret, overrides) in cases.items():
                with self.subTest(expected):
                    settings = debug_settings(self, self.wecom, debug_token, corp_secret, **overrides)
                    result = subprocess.run(
                        [sys.executable, str(HERE / "relay.py")], cwd=ROOT, capture_output=True, text=True, timeout=30,
                        env={**os.environ, "HOST": "127.0.0.1", "PORT": "0", "PYTHONPATH": str(FAKE_SDK), **settings},
                    )
                    self.assertEqual(result.returncode, 1, result.stderr)
                    self.assertIn(expected, result.stderr)
                    self.assertNotIn("listening", result.stdout)
                    for marker in (debug_token, corp_secret, *self.wecom.tokens):
                        self.assertNotIn(marker, result.stdout + result.stderr)
        self.assertEqual(self.wecom.opened, [])


class StartUpTest(unittest.TestCase):
    """What can stop the relay before it serves: one line on stderr, never a traceback, never a secret."""

    def run_relay(self, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(HERE / "relay.py")], cwd=ROOT, capture_output=True, text=True, timeout=30,
            env={**os.environ, "HOST": "127.0.0.1", "PYTHONPATH": str(FAKE_SDK), **env},
        )

    def test_a_port_in_use_exits_1_before_debug_mode_is_opened(self) -> None:
        wecom = StandInWecom("CORP-SECRET-MARKER-44", "DEBUG-MARKER-55", expires_in=7200)
        self.addCleanup(wecom.close)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            settings = debug_settings(self, wecom, "DEBUG-MARKER-55", "CORP-SECRET-MARKER-44")
            result = self.run_relay({**settings, "PORT": str(taken.getsockname()[1])})
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("relay: cannot listen on 127.0.0.1:", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        # WeCom was never told to forward calls to a port this process could not hold.
        self.assertEqual(wecom.opened, [])

    def test_a_missing_sdk_exits_1_with_one_line(self) -> None:
        result = self.run_relay({"PYTHONPATH": "", "PORT": "0"})
        self.assertEqual(result.returncode, 1)
        self.assertIn("relay: the vendor SDK is not importable", result.stderr)
        self.assertNotIn("Traceback", result.stderr)


class RequestLineTest(unittest.TestCase):
    """A garbled request line gets a real HTTP answer whose errmsg quotes nothing of the request."""

    def test_a_bad_request_line_is_answered_without_quoting_it(self) -> None:
        zone = StandInZone()
        self.addCleanup(zone.close)
        process = RelayProcess(zone.url)
        self.addCleanup(process.stop, signal.SIGKILL)
        host, port = process.url.removeprefix("http://").rstrip("/").split(":")
        for line in (b"POST /SECRETKEY1 a b HTTP/1.1", b"BREW /SECRETKEY1 HTTP/1.1", b"POST /SECRETKEY1 HTTP/9.9"):
            with self.subTest(line=line), socket.create_connection((host, int(port)), timeout=10) as connection:
                connection.sendall(line + b"\r\nHost: relay\r\nContent-Length: 0\r\n\r\n")
                answer = b""
                while chunk := connection.recv(65536):
                    answer += chunk
                self.assertTrue(answer.startswith(b"HTTP/1."), answer[:40])
                self.assertNotIn(b"SECRETKEY1", answer)
        self.assertNotIn("SECRETKEY1", process.output())


if __name__ == "__main__":
    unittest.main()
