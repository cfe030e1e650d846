"""A recorder's QProcess: its environment, and the stop ladder (q, terminate, SIGKILL of the group) on real
processes."""

from __future__ import annotations

import sys
import time

import pytest
from PySide6.QtCore import QObject, QProcess

from nvr_console.core.recording.recorder_process import StopLadder, new_process
from nvr_console.core.system import process_group

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _wait(proc: QProcess, ladder: StopLadder, within_s: float, said: list[tuple[str, str]]) -> float:
    start = time.monotonic()
    while proc.state() != QProcess.ProcessState.NotRunning and time.monotonic() - start < within_s:
        ladder.step(proc, time.time(), lambda level, text: said.append((level, text)))
        proc.waitForFinished(50)
    return time.monotonic() - start


def test_a_process_that_quits_on_q_needs_nothing_more(qapp: object) -> None:
    parent = QObject()
    proc = new_process(parent, [sys.executable, "-c", "import sys; sys.stdin.read(1)"], "Europe/Moscow")
    proc.start()
    assert proc.waitForStarted(5000)
    ladder, said = StopLadder(5.0, 5.0), []
    ladder.begin(proc, time.time())
    assert ladder.stopping
    assert _wait(proc, ladder, 10, said) < 4 and said == []


def test_one_that_ignores_q_and_terminate_is_killed_with_its_group(qapp: object) -> None:
    parent = QObject()
    code = ("import signal, subprocess, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print(subprocess.Popen(['sleep', '60']).pid, flush=True)\ntime.sleep(60)\n")
    proc = new_process(parent, [sys.executable, "-c", code], None)
    proc.start()
    assert proc.waitForReadyRead(10000)
    child = int(bytes(proc.readAllStandardOutput().data()))
    ladder, said = StopLadder(0.2, 0.2), []
    ladder.begin(proc, time.time())
    assert _wait(proc, ladder, 10, said) < 8
    assert [level for level, _ in said] == ["warning", "warning"]
    assert "terminating" in said[0][1] and "killing" in said[1][1]
    deadline = time.monotonic() + 5
    while process_group.pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not process_group.pid_alive(child)  # the whole group went, not only the process QProcess started


def test_the_environment_carries_the_zone(qapp: object) -> None:
    parent = QObject()
    proc = new_process(parent, [sys.executable, "-c", "import os; print(os.environ.get('TZ'))"], "Asia/Tokyo")
    proc.start()
    assert proc.waitForFinished(10000)
    assert bytes(proc.readAllStandardOutput().data()).strip() == b"Asia/Tokyo"
