"""The settings holder: which options changed, and only the listeners of a changed section are told."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nvr_console.core.config import Settings
from nvr_console.core.config.holder import SECTIONS, SettingsChange, SettingsHolder, changed_keys


def test_changed_keys_name_each_option_that_differs(settings_factory: Callable[..., Settings]) -> None:
    old = settings_factory()
    new = settings_factory(**{"recording.segment_length": "10m", "upload.workers": 5})
    assert changed_keys(old, new) == {"recording.segment_length", "upload.workers"}
    assert changed_keys(old, settings_factory()) == frozenset()  # loaded again, equal: nothing changed


def test_listeners_of_changed_sections_run_in_order_and_the_others_do_not(
        settings_factory: Callable[..., Settings], qapp: object) -> None:
    holder = SettingsHolder(settings_factory())
    calls: list[tuple[str, float]] = []
    holder.subscribe(("recording",), lambda s: calls.append(("recording", s.recording.segment_length)))
    holder.subscribe(("upload", "recording"), lambda s: calls.append(("both", s.recording.segment_length)))
    holder.subscribe(("alerts",), lambda s: calls.append(("alerts", 0)))
    changes: list[SettingsChange] = []
    holder.changed.connect(changes.append)

    new = settings_factory(**{"recording.segment_length": "10s"})
    change = holder.apply(new)
    assert holder.current is new
    assert calls == [("recording", 10.0), ("both", 10.0)]
    assert change.keys == {"recording.segment_length"} and change.sections == {"recording"}
    assert changes == [change]

    calls.clear()
    assert holder.apply(settings_factory(**{"recording.segment_length": "10s"})).keys == frozenset()
    assert calls == [] and len(changes) == 1  # nothing changed: nobody is told


def test_subscribe_now_calls_at_once_and_an_unknown_section_is_refused(
        settings_factory: Callable[..., Settings], qapp: object) -> None:
    settings = settings_factory()
    holder = SettingsHolder(settings)
    got: list[Settings] = []
    holder.subscribe(("node",), got.append, now=True)
    assert got == [settings]
    with pytest.raises(ValueError, match="no settings section recordings"):
        holder.subscribe(("recordings",), got.append)
    assert "recording" in SECTIONS and "node" in SECTIONS
