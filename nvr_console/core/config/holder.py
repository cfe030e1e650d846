"""The one path a setting takes to whoever uses it: a holder of the current settings that says what changed.

Each long-lived object that reads settings subscribes to the sections it uses (`subscribe`) and is told
the new settings when an option of one of those sections changed; nobody pushes settings by hand. Options
are declared (with their defaults) only in config.OPTIONS; which of them a running process applies at once
is their `live` flag.

A process has one holder per thread that reads settings: the engine's (engine thread) and the console's
(UI thread). The console's holder applies a saved file; its subscriber sends the new settings to the engine
as plain data through a queued signal, and the engine's holder applies them on the engine thread. Listeners
run on the thread that calls `apply`, in the order they subscribed; one that runs on another thread (the
fleet member) must take the new values under its own lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from nvr_console.core.config import OPTIONS, Settings

log = logging.getLogger(__name__)

Listener = Callable[[Settings], None]
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(o.section for o in OPTIONS))  # every section, in table order


def changed_keys(old: Settings, new: Settings) -> frozenset[str]:
    """The options ("section.key") whose value differs between two settings."""
    return frozenset(o.name for o in OPTIONS if old.value(o.name) != new.value(o.name))


@dataclass(frozen=True)
class SettingsChange:
    """What `apply` changed (plain data: it may cross threads)."""

    settings: Settings  # the new settings
    keys: frozenset[str]  # "section.key" of each option whose value changed

    @property
    def sections(self) -> frozenset[str]:
        return frozenset(k.split(".", 1)[0] for k in self.keys)


class SettingsHolder(QObject):
    """The current settings of one thread's objects. Create, subscribe and apply on that thread."""

    changed = Signal(object)  # SettingsChange, after the listeners ran; only when an option changed

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current = settings
        self._listeners: list[tuple[frozenset[str], Listener]] = []

    @property
    def current(self) -> Settings:
        return self._current

    def subscribe(self, sections: Iterable[str], listener: Listener, now: bool = False) -> None:
        """Call `listener(settings)` whenever an option of one of `sections` changes (and at once with `now`)."""
        wanted = frozenset(sections)
        unknown = wanted - set(SECTIONS)
        if unknown:
            raise ValueError(f"no settings section {', '.join(sorted(unknown))}")
        self._listeners.append((wanted, listener))
        if now:
            listener(self._current)

    def apply(self, settings: Settings) -> SettingsChange:
        """Make `settings` current and tell the listeners of every section that changed."""
        change = SettingsChange(settings, changed_keys(self._current, settings))
        self._current = settings
        if not change.keys:
            return change
        log.debug("settings changed: %s", ", ".join(sorted(change.keys)))
        sections = change.sections
        for wanted, listener in list(self._listeners):
            if wanted & sections:
                listener(settings)
        self.changed.emit(change)
        return change
