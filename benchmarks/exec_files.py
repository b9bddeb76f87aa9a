"""`credd exec --file` kept current: from a change stored to the command's file holding it.

A real `credd exec --file PATH=NAME -- sleep` runs against the daemon; this process changes
the credential (a `PUT`, answered once durable) and polls the file until it holds the new
value. The latency is from sending the `PUT` to the new content in the file, so it holds the
durable write, the event, exec's `GET` of the new value and the file's durable, atomic
replacement. The baseline in the same run is a plain `watch` in this process hearing the
same change, from the same moment.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from credd_client import Client
from credd_client.watch import Watch

from .environment import Environment
from .stats import Sample, latency
from .table import Row, ratio

NAME = "bench/exec-file"
GOAL = 0.2  # seconds, the bound from the daemon storing a token to the command


def run(env: Environment) -> list[Row]:
    changes = 10 if env.sizes.requests < 1000 else 200
    credd_env = env.credd_env()
    daemon = env.daemon(credd_env)
    target = Path(credd_env["CREDD_HOME"]).parent / "exec-file"
    program = shutil.which("credd", path=credd_env["PATH"])
    assert program is not None
    with Client(str(daemon.socket)) as client, Client(str(daemon.socket)) as watching:
        client.set_secret(NAME, "value-0")
        heard: dict[int, float] = {}  # version -> when the plain watch heard it
        watch = watching.watch([NAME])
        listener = threading.Thread(target=_listen, args=(watch, heard), daemon=True)
        listener.start()
        proc = subprocess.Popen(
            [program, "exec", "--file", f"{target}={NAME}", "--", "sleep", "3600"],
            env=credd_env,
        )
        try:
            _until(lambda: _read(target) == "value-0")
            time.sleep(1.0)  # both watches connected
            to_file, to_event = [], []
            for index in range(1, changes + 1):
                value = f"value-{index}"
                sent = time.perf_counter()
                version = client.set_secret(NAME, value).version
                _until(lambda value=value: _read(target) == value)
                to_file.append(time.perf_counter() - sent)
                _until(lambda version=version: version in heard)
                to_event.append(heard[version] - sent)
        finally:
            proc.terminate()
            proc.wait(30)
            watch.close()
            listener.join(30)
    files, events = Sample.of(to_file), Sample.of(to_event)
    return [
        Row(
            f"credd exec --file: PUT sent to the new file content ({changes} changes)",
            latency(files),
            "a watch hearing it: " + latency(events),
            ratio(files.p50, events.p50),
            "≤ 200 ms p99",
            files.p99 <= GOAL,
        )
    ]


def _listen(watch: Watch, heard: dict[int, float]) -> None:
    for event in watch:
        if event.version is not None:
            heard[event.version] = time.perf_counter()


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError("credd exec did not replace its file in time")
        time.sleep(0.0005)
