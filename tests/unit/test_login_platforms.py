"""`credd service install` on macOS and Windows, run on Linux (items 3 and 11 of issue 15).

launchd: a stand-in `launchctl` on PATH behaves as macOS's does where it hurts: after
`bootout` the agent unloads in the background and `bootstrap` fails with "Bootstrap failed:
5: Input/output error" until it is done, and a disabled label cannot be bootstrapped.
Windows: the task is rendered and parsed as Task Scheduler's schema has it; the daemon's own
log file (`serve --log-file`) is run for real.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from credd import at_login
from credd.at_login import LAUNCHD_LABEL, LaunchAgent, Setup, WindowsTask
from credd.cli import service as service_cli
from credd.system.logfile import open_log_file
from credd_client._autostart import open_log

FAKE_LAUNCHCTL = r"""#!/bin/bash
# macOS's launchctl, as far as `credd service` meets it. State in $FAKE_LAUNCHD.
state="$FAKE_LAUNCHD"
echo "$*" >> "$state/calls"
now=$(date +%s%N)
case "$1" in
  bootout)
    if [ -e "$state/loaded" ]; then
      rm "$state/loaded"
      echo $(( now + FAKE_UNLOAD_NS )) > "$state/unloading_until"
      exit 0
    fi
    echo "Boot-out failed: 3: No such process" >&2; exit 3;;
  enable) rm -f "$state/disabled"; exit 0;;
  bootstrap)
    if [ -e "$state/unloading_until" ] && [ "$now" -lt "$(cat "$state/unloading_until")" ]; then
      echo "Bootstrap failed: 5: Input/output error" >&2; exit 5
    fi
    if [ -e "$state/disabled" ]; then
      echo "Bootstrap failed: 119: Service is disabled" >&2; exit 119
    fi
    if [ -e "$state/loaded" ]; then
      echo "Bootstrap failed: 37: Operation already in progress" >&2; exit 37
    fi
    cp "$3" "$state/loaded"; exit 0;;
  print)
    if [ -e "$state/loaded" ]; then echo "state = running"; exit 0; fi
    echo "Could not find service" >&2; exit 113;;
esac
exit 64
"""


@pytest.fixture
def launchd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake launchd's state folder; its launchctl first on PATH."""
    tools, state = tmp_path / "bin", tmp_path / "launchd"
    tools.mkdir()
    state.mkdir()
    script = tools / "launchctl"
    script.write_text(FAKE_LAUNCHCTL)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LAUNCHD", str(state))
    monkeypatch.setenv("FAKE_UNLOAD_NS", str(1_500_000_000))  # unloading takes 1.5 s
    monkeypatch.setattr(service_cli, "RETRY_PAUSE", 0.2)
    return state


def agent(tmp_path: Path) -> LaunchAgent:
    setup = Setup(
        command=("/usr/local/bin/credd",),
        socket="/tmp/credd-501/credd.sock",
        state_dir=tmp_path / "state",
        home=tmp_path / "home",
    )
    return LaunchAgent(setup, env={})


def calls(state: Path) -> list[str]:
    return [line.split()[0] for line in (state / "calls").read_text().splitlines()]


def test_a_reinstall_over_a_loaded_agent_ends_loaded(launchd: Path, tmp_path: Path) -> None:
    service = agent(tmp_path)
    assert service_cli.install(service) == 0
    assert (launchd / "loaded").read_bytes() == service.plist_path.read_bytes()
    (launchd / "calls").unlink()
    service.plist_path.write_text("<!-- an older plist -->")  # so that install rewrites it
    assert service_cli.install(service) == 0
    # bootout, enable, then bootstrap refused with EIO while launchd unloads, then loaded.
    made = calls(launchd)
    assert made[:2] == ["bootout", "enable"]
    assert set(made[2:]) == {"bootstrap"}
    assert len(made) > 3
    assert (launchd / "loaded").read_bytes() == service.plist_path.read_bytes()


def test_a_disabled_label_is_enabled_before_bootstrap(launchd: Path, tmp_path: Path) -> None:
    (launchd / "disabled").touch()  # `launchctl disable`, by the user or an earlier install
    assert service_cli.install(agent(tmp_path)) == 0
    assert calls(launchd) == ["bootout", "enable", "bootstrap"]
    assert (launchd / "loaded").exists()


def test_a_bootstrap_that_keeps_failing_fails_the_install(
    launchd: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service = agent(tmp_path)
    assert service_cli.install(service) == 0
    monkeypatch.setenv("FAKE_UNLOAD_NS", str(3600 * 10**9))  # launchd never finishes
    monkeypatch.setattr(service_cli, "RETRY_SECONDS", 0.5)
    service.plist_path.write_text("<!-- an older plist -->")
    capsys.readouterr()
    assert service_cli.install(service) == 1
    err = capsys.readouterr().err
    assert "that command exited with 5" in err
    assert not (launchd / "loaded").exists()


def test_only_bootstraps_refused_for_a_while_are_tried_again(tmp_path: Path) -> None:
    service = agent(tmp_path)
    _, enable, bootstrap = service.enable_commands()
    assert service.retry(bootstrap, 5, "Bootstrap failed: 5: Input/output error")
    assert service.retry(bootstrap, 37, "Bootstrap failed: 37: Operation already in progress")
    assert not service.retry(bootstrap, 119, "Bootstrap failed: 119: Service is disabled")
    assert not service.retry(enable, 5, "")
    assert enable[-1].endswith(f"/{LAUNCHD_LABEL}")


# --- Windows ---------------------------------------------------------------------------------

TASK = "{http://schemas.microsoft.com/windows/2004/02/mit/task}"


def python_install(tmp_path: Path, *, windowless: bool) -> Path:
    folder = tmp_path / "Python312"
    folder.mkdir()
    (folder / "python.exe").touch()
    if windowless:
        (folder / "pythonw.exe").touch()
    return folder


def test_windows_starts_credd_windowless_with_pythonw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = python_install(tmp_path, windowless=True)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", str(folder / "python.exe"))
    assert at_login.credd_command() == [str(folder / "pythonw.exe"), "-m", "credd"]


def test_without_pythonw_the_console_command_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = python_install(tmp_path, windowless=False)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", str(folder / "python.exe"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert at_login.credd_command() == [str(folder / "python.exe"), "-m", "credd"]


def test_the_task_restarts_a_crashed_daemon_and_logs_to_credd_log(tmp_path: Path) -> None:
    pythonw = r"C:\Users\ada\AppData\Local\Programs\Python\Python312\pythonw.exe"
    setup = Setup(
        command=(pythonw, "-m", "credd"),
        socket=r"\\.\pipe\credd-ada",
        state_dir=Path("C:/Users/ada/AppData/Local/credd"),
        home=Path("C:/Users/ada"),
    )
    (item,) = WindowsTask(setup, env={"USERDOMAIN": "DESK", "USERNAME": "ada"}).files()
    root = ET.fromstring(item.data())
    trigger = root.find(f"{TASK}Triggers/{TASK}LogonTrigger")
    assert trigger is not None
    # The schema's order: the base trigger's elements (Enabled, Repetition), then UserId.
    assert [child.tag.removeprefix(TASK) for child in trigger] == [
        "Enabled",
        "Repetition",
        "UserId",
    ]
    repetition = {
        child.tag.removeprefix(TASK): child.text for child in trigger.find(f"{TASK}Repetition")
    }  # type: ignore[union-attr]
    assert repetition == {"Interval": "PT1M", "StopAtDurationEnd": "false"}  # no Duration: forever
    settings = {child.tag.removeprefix(TASK): child for child in root.find(f"{TASK}Settings")}  # type: ignore[union-attr]
    assert settings["MultipleInstancesPolicy"].text == "IgnoreNew"  # a repetition while it runs
    assert settings["Hidden"].text == "true"
    assert settings["Priority"].text == "5"
    assert settings["RestartOnFailure"].find(f"{TASK}Count") is not None
    action = root.find(f"{TASK}Actions/{TASK}Exec")
    assert action is not None
    assert action.findtext(f"{TASK}Command") == pythonw
    arguments = action.findtext(f"{TASK}Arguments") or ""
    assert arguments.startswith("-m credd serve --log-file ")
    assert arguments.endswith("credd.log")


def test_serve_writes_its_output_to_the_log_file(tmp_path: Path) -> None:
    """What pythonw.exe needs: no standard output at all, so the daemon writes its own log."""
    home, log = tmp_path / "home", tmp_path / "logs" / "credd.log"
    home.mkdir()
    (home / "config.toml").write_text("log_level = [\n")  # fails early, after the redirect
    env = {**os.environ, "CREDD_HOME": str(home), "CREDD_SOCKET": str(tmp_path / "s")}
    result = subprocess.run(
        [sys.executable, "-m", "credd", "serve", "--log-file", str(log)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == result.stderr == ""
    assert "credd: " in log.read_text()
    assert "config.toml" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_the_log_is_moved_aside_at_start_when_over_its_limit(tmp_path: Path) -> None:
    """credd.log would otherwise grow for as long as the user keeps the machine."""
    log = tmp_path / "credd.log"
    log.write_text("old run\n" * 10)
    open_log_file(log, rotate_bytes=1000).close()
    assert log.read_text() == "old run\n" * 10  # under the limit: kept, appended to
    with open_log_file(log, rotate_bytes=40) as handle:
        handle.write("new run\n")
    assert log.read_text() == "new run\n"
    assert (tmp_path / "credd.log.1").read_text() == "old run\n" * 10


def test_the_log_of_a_daemon_started_on_demand_is_moved_aside_too(tmp_path: Path) -> None:
    log = tmp_path / "credd.log"
    log.write_text("old run\n" * 10)
    os.close(open_log(str(log), rotate_bytes=40))
    assert log.read_text() == ""
    assert (tmp_path / "credd.log.1").read_text() == "old run\n" * 10
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
