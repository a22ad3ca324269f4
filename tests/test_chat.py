"""`helpline chat`: signed webhooks from a terminal, against an in-process app and a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from helpline import chat
from helpline.config import Settings
from helpline.deps import Deps

ROOT = Path(__file__).resolve().parent.parent


def test_chat_in_process_prints_the_bots_replies(settings: Settings, deps: Deps) -> None:
    printed: list[str] = []
    post = chat.in_process_poster(settings)
    chat.chat(post, settings, "+15415550199", ["hi", "4", "1", "no"], printed.append)
    assert printed[0].startswith("bot> Welcome to the Family Helpline")
    assert "#1001" in printed[-1]
    assert deps.store.open_callbacks()[0].number == "+15415550199"


def test_chat_against_a_running_server_signs_its_webhooks(redis_url: str, redis, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "HELPLINE_ENV": "development", "REDIS_URL": redis_url, "HELPLINE_VAR_DIR": str(tmp_path)}
    env.pop("PUBLIC_BASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app:app", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the dev server did not start"
                time.sleep(0.05)
        result = subprocess.run(
            [sys.executable, "-m", "helpline.cli", "chat", "--url", f"http://127.0.0.1:{port}", "--send", "HELP"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("bot> ") and "STOP" in result.stdout
    finally:
        server.terminate()
        server.wait(timeout=10)
