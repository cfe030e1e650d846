"""The liveness rule in-process: a QThread whose event loop is blocked stops answering the probe."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QCoreApplication, QMetaObject, QObject, Qt, QThread, Slot

from nvr_console.core.monitoring.health import CRITICAL, OK, EngineLiveness, HealthFacts, assess, liveness


class Busy(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    @Slot()
    def block(self) -> None:
        self.release.wait(10)


def settle(cond, timeout_s: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QCoreApplication.processEvents()
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def test_engine_thread_that_stops_answering_is_not_alive(qapp: object) -> None:
    thread = QThread()
    busy = Busy()
    busy.moveToThread(thread)
    live = EngineLiveness(busy)
    thread.start()
    try:
        time.sleep(0.2)
        live.probe()
        assert settle(lambda: live.age() < 0.1)
        assert liveness(live.age(), 0.5).code == OK
        QMetaObject.invokeMethod(busy, "block", Qt.ConnectionType.QueuedConnection)
        time.sleep(0.1)
        live.probe()  # queued behind the blocked slot: never answered while it blocks
        time.sleep(0.7)
        verdict = liveness(live.age(), 0.5, "engine thread")
        assert verdict.code == CRITICAL and verdict.line.startswith("NVR CRITICAL - engine thread silent for")
        busy.release.set()
        assert settle(lambda: live.age() < 0.5)
    finally:
        busy.release.set()
        thread.quit()
        thread.wait(5000)


def test_assess_orders_critical_over_warning_and_keeps_one_line() -> None:
    firing = [("warning", f"cam {i}", "camera reconnecting often") for i in range(4)]
    v = assess(HealthFacts(3.0, 1, 5, 4, 2, [*firing, ("critical", "A / b", "camera not recording")]))
    assert v.code == CRITICAL and v.line.startswith("NVR CRITICAL - 5 alert(s): A / b: camera not recording, 4/5")
    v = assess(HealthFacts(3.0, 1, 5, 5, 0, firing))
    assert v.code == 1 and "(+1 more)" in v.line and "\n" not in v.line
    assert assess(HealthFacts(3.0, 1, 5, 5, 0, firing), liveness_only=True).code == OK
