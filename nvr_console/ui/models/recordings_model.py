"""The Recordings view's model: one row per camera for one day (core.coverage), what each point of the timeline
is, what hovering it says, and what double-clicking it opens. No widgets here, so tests use it without a view.

Loading runs core.coverage.load_day on the console's database thread (ui.background); an answer for an older
request (the operator picked another day meanwhile) is dropped. All methods: UI thread.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QColor

from nvr_console.core.coverage import CameraCoverage, Cause, FileSpan, Gap
from nvr_console.core.lectures.lecture_store import LectureInfo
from nvr_console.core.text.durations import format_duration
from nvr_console.ui.background import database_pool, run_in_background
from nvr_console.ui.formatting import human_size

# Status colours (the timeline's legend). Damaged files are drawn hatched over their status colour.
STATUS_COLORS: dict[str, QColor] = {
    "recording": QColor("#d32f2f"),
    "finalizing": QColor("#f9a825"),
    "ready": QColor("#1e88e5"),
    "uploading": QColor("#7e57c2"),
    "uploaded": QColor("#2e7d32"),
    "failed": QColor("#6d4c41"),
    "lost": QColor("#424242"),
}
STATUS_LABELS = {"recording": "recording", "finalizing": "finalizing", "ready": "ready (waiting to upload)",
                 "uploading": "uploading", "uploaded": "uploaded (verified)", "failed": "failed", "lost": "lost"}
GAP_COLORS: dict[Cause, QColor] = {
    Cause.CAMERA_UNREACHABLE: QColor("#ef9a9a"),
    Cause.DISK_FULL: QColor("#ff8a65"),
    Cause.STOPPED_BY_OPERATOR: QColor("#b0bec5"),
    Cause.OUTSIDE_WINDOW: QColor("#eceff1"),
    Cause.ENGINE_NOT_RUNNING: QColor("#ffcc80"),
    Cause.CONNECTING: QColor("#fff59d"),
    Cause.FILE_FAILED: QColor("#bcaaa4"),
    Cause.FILE_LOST: QColor("#bdbdbd"),
    Cause.UNKNOWN: QColor("#e0e0e0"),
}

# Lecture brackets, by the lecture's state (the Lectures tab uses the same words).
LECTURE_COLORS: dict[str, QColor] = {
    "scheduled": QColor("#455a64"),
    "recording": QColor("#1565c0"),
    "assembling": QColor("#1565c0"),
    "delivered": QColor("#1b8a3a"),
    "incomplete": QColor("#c46a00"),
    "cancelled": QColor("#9e9e9e"),
    "skipped": QColor("#9e9e9e"),
}
LECTURE_STATE_LABELS = {"scheduled": "scheduled", "recording": "recording", "assembling": "being assembled",
                        "delivered": "delivered", "incomplete": "delivered incomplete", "cancelled": "cancelled",
                        "skipped": "not recorded (privacy)"}


@dataclass(frozen=True)
class Hit:
    """What is under a point of the timeline: a file, a gap, time outside the window, or nothing."""

    row: int
    file: FileSpan | None = None
    gap: Gap | None = None
    outside_window: bool = False
    outside_life: str = ""  # "camera added at 16:41:50": before it existed, after its removal, disabled all day
    lecture: LectureInfo | None = None  # the room's lecture at that moment, whatever else is there


class RecordingsModel(QObject):
    """Cameras x files and gaps of one day. UI thread."""

    loading = Signal()
    loaded = Signal()  # rows changed
    failed = Signal(str)  # one sentence (the old rows stay)
    filters_loaded = Signal(object)  # {room: [camera, ...]}

    def __init__(self, load_day: Callable[[date, str | None, str | None], list[CameraCoverage]] | None = None,
                 list_cameras: Callable[[], dict[str, list[str]]] | None = None, zone: ZoneInfo | None = None,
                 parent: QObject | None = None,
                 load_lectures: Callable[[date, str | None], list[LectureInfo]] | None = None) -> None:
        super().__init__(parent)
        self._load_day = load_day
        self._load_lectures = load_lectures
        self._list_cameras = list_cameras
        self.zone = zone
        self.day: date | None = None
        self.room: str | None = None
        self.camera: str | None = None
        self.same_view = False  # the rows loaded last are the same day and filters again (see load)
        self._rows: list[CameraCoverage] = []
        self._starts: list[list[float]] = []  # per row: file start epochs, for hit tests
        self._gap_starts: list[list[float]] = []
        self._ends: list[list[float]] = []
        self._gap_ends: list[list[float]] = []
        self._lectures: dict[str, list[LectureInfo]] = {}  # room -> its lectures of the day, by start
        self._generation = 0
        self.error = ""

    # --- loading ------------------------------------------------------------------------------------------

    def load(self, day: date, room: str | None = None, camera: str | None = None) -> None:
        """Ask for a day (off the UI thread); `loaded` or `failed` follows. The same day and filters again (the
        view following the clock, ⟳): `same_view` says the timeline keeps its zoom and scroll."""
        self.same_view = (day, room, camera) == (self.day, self.room, self.camera) and bool(self._rows)
        self.day, self.room, self.camera = day, room, camera
        self._generation += 1
        generation = self._generation
        self.loading.emit()
        if self._load_day is None:
            return
        fn, lectures = self._load_day, self._load_lectures

        def read() -> tuple[list[CameraCoverage], list[LectureInfo]]:  # pool thread: the day and its lectures
            return fn(day, room, camera), lectures(day, room) if lectures is not None else []

        run_in_background(read, lambda answer: self._answer(generation, *answer),
                          lambda message: self._refused(generation, message), pool=database_pool(), context=self)

    def load_filters(self) -> None:
        if self._list_cameras is not None:
            run_in_background(self._list_cameras, self.filters_loaded.emit, self.failed.emit, pool=database_pool(),
                              context=self)

    def _answer(self, generation: int, rows: list[CameraCoverage], lectures: list[LectureInfo]) -> None:
        if generation == self._generation:
            self.set_rows(rows, lectures)

    def _refused(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.error = message
            self.failed.emit(message)

    def set_rows(self, rows: list[CameraCoverage], lectures: list[LectureInfo] | None = None) -> None:
        self._rows = list(rows)
        self._lectures = {}
        for lecture in sorted(lectures or [], key=lambda x: (x.start, x.id)):
            self._lectures.setdefault(lecture.room, []).append(lecture)
        self._starts = [[f.start.timestamp() for f in r.files] for r in self._rows]
        self._gap_starts = [[g.start.timestamp() for g in r.gaps] for r in self._rows]
        self._ends = [[f.end.timestamp() for f in r.files] for r in self._rows]
        self._gap_ends = [[g.end.timestamp() for g in r.gaps] for r in self._rows]
        self.error = ""
        self.loaded.emit()

    # --- what is where ----------------------------------------------------------------------------------------

    def rows(self) -> list[CameraCoverage]:
        return self._rows

    def row_label(self, row: int) -> str:
        c = self._rows[row]
        return f"{c.room} / {c.camera}"

    def row_summary(self, row: int) -> str:
        c = self._rows[row]
        ratio = f"{100 * c.ratio:.1f} %" if c.ratio is not None else "no window"
        return f"{ratio} of the window, {len(c.gaps)} gap(s)"

    def file_ends(self, row: int) -> list[float]:
        """End epochs of a row's files (and gap_ends: of its gaps), in the order of `rows()[row]`."""
        return self._ends[row]

    def gap_ends(self, row: int) -> list[float]:
        return self._gap_ends[row]

    def day_span(self) -> tuple[float, float] | None:
        if not self._rows:
            return None
        return self._rows[0].day_start.timestamp(), self._rows[0].day_end.timestamp()

    def lectures(self, row: int) -> list[LectureInfo]:
        """The lectures of the row's room on the shown day, by start (the timeline draws them as brackets)."""
        return self._lectures.get(self._rows[row].room, []) if 0 <= row < len(self._rows) else []

    def lecture_at(self, row: int, at: float) -> LectureInfo | None:
        """The row's room's lecture at epoch `at` (the later one where two meet)."""
        found = None
        for x in self.lectures(row):
            if x.start.timestamp() <= at < x.end.timestamp():
                found = x
        return found

    def hit(self, row: int, at: float) -> Hit | None:
        """The file or gap of `row` at epoch `at` (files win over gaps; then the window), with the room's lecture
        at that moment."""
        hit = self._hit(row, at)
        lecture = self.lecture_at(row, at)
        if lecture is None:
            return hit
        return replace(hit, lecture=lecture) if hit is not None else Hit(row, lecture=lecture)

    def _hit(self, row: int, at: float) -> Hit | None:
        if not 0 <= row < len(self._rows):
            return None
        c = self._rows[row]
        if c.until is not None and at >= c.until.timestamp():
            return None  # not yet
        i = bisect.bisect_right(self._starts[row], at) - 1
        # Files may overlap (a reconnect mid-slot): look back a few.
        for j in range(i, max(-1, i - 4), -1):
            f = c.files[j]
            if f.start.timestamp() <= at < f.end.timestamp():
                return Hit(row, file=f)
        k = bisect.bisect_right(self._gap_starts[row], at) - 1
        if k >= 0 and at < c.gaps[k].end.timestamp():
            return Hit(row, gap=c.gaps[k])
        life = next((o.reason for o in c.outside if o.start.timestamp() <= at < o.end.timestamp()), "")
        if life:
            return Hit(row, outside_life=life)
        if not any(a.timestamp() <= at < b.timestamp() for a, b in c.window):
            return Hit(row, outside_window=True)
        return None

    def items(self, row: int) -> list[FileSpan | Gap]:
        """Files and gaps of a row in time order: what the keyboard steps through."""
        c = self._rows[row]
        return sorted([*c.files, *c.gaps], key=lambda x: (x.start, isinstance(x, Gap)))

    # --- words and actions ---------------------------------------------------------------------------------

    def _t(self, moment: datetime) -> str:
        local = moment.astimezone(self.zone) if self.zone else moment.astimezone()
        return local.strftime("%H:%M:%S")

    def tooltip(self, hit: Hit | None) -> str:
        """What hovering says: the lecture (title, time, state), then a file's times, size, duration, node,
        upload state and link, or a gap's reason."""
        if hit is None:
            return ""
        lecture = self.lecture_tooltip(hit.lecture) if hit.lecture is not None else ""
        rest = self._tooltip(hit)
        return f"{lecture}\n\n{rest}" if lecture and rest else lecture or rest

    def lecture_tooltip(self, x: LectureInfo) -> str:
        lines = [f"Lecture: {x.title or '(untitled)'}, {self._t(x.start)[:5]} – {self._t(x.end)[:5]}",
                 LECTURE_STATE_LABELS.get(x.state, x.state)
                 + (f", {100 * x.coverage:.1f} % recorded" if x.coverage is not None else "")]
        if x.organizer:
            lines.append(f"by {x.organizer}")
        if x.private_reason:
            lines.append(f"not recorded: {x.private_reason}")
        if x.web_link:
            lines.append(f"lecture file: {x.web_link}")
        return "\n".join(lines)

    def _tooltip(self, hit: Hit) -> str:
        c = self._rows[hit.row]
        if hit.file is not None:
            f = hit.file
            lines = [f"{c.room} / {c.camera}: {self._t(f.start)} – {self._t(f.end)}",
                     f"{STATUS_LABELS.get(f.status, f.status)}"
                     + (f", {human_size(f.size)}" if f.size else "")
                     + (f", {format_duration(round(f.duration))}" if f.duration else "")]
            if f.damaged:
                lines.append(f"DAMAGED: {f.damaged}")
            if f.node:
                lines.append(f"recorded on {f.node}")
            if f.local_path and not f.local_deleted:
                lines.append(f"file: {f.local_path}")
            elif f.local_deleted:
                lines.append("local copy deleted after a verified upload")
            if f.web_link:
                lines.append(f"Drive: {f.web_link}" if f.destination != "local" else f"archive: {f.web_link}")
            if f.status in ("failed", "lost") and f.last_error:
                lines.append(f"why: {f.last_error}")
            elif f.notes:
                lines.append(f"notes: {f.notes}")
            lines.append("double-click to play")
            return "\n".join(lines)
        if hit.gap is not None:
            g = hit.gap
            return (f"{c.room} / {c.camera}: no recording {self._t(g.start)} – {self._t(g.end)} "
                    f"({format_duration(round(g.seconds))})\n{g.reason}")
        if hit.outside_life:
            return f"{c.room} / {c.camera}: {hit.outside_life}"
        if hit.outside_window:
            return f"{c.room} / {c.camera}: outside the recording window"
        return ""

    def open_url(self, f: FileSpan) -> QUrl | None:
        """What double-click opens: the local file (the system's player), else its Drive or archive link."""
        if f.local_path and not f.local_deleted and Path(f.local_path).is_file():
            return QUrl.fromLocalFile(f.local_path)
        if f.web_link:
            return QUrl(f.web_link)
        return None

    def folder_url(self, f: FileSpan) -> QUrl | None:
        """The Drive (or archive) folder of a file, else its local folder."""
        if f.folder_link:
            return QUrl(f.folder_link)
        if f.local_path and Path(f.local_path).parent.is_dir():
            return QUrl.fromLocalFile(str(Path(f.local_path).parent))
        return None

    @staticmethod
    def color(item: FileSpan | Gap) -> QColor:
        if isinstance(item, Gap):
            return GAP_COLORS.get(item.cause, GAP_COLORS[Cause.UNKNOWN])
        return STATUS_COLORS.get(item.status, QColor("#9e9e9e"))

    def summary(self) -> str:
        """One line for the view's status: cameras, recorded share, gaps, damaged files."""
        if not self._rows:
            return "no cameras" if self.day is not None else ""
        window = sum(c.window_seconds for c in self._rows)
        recorded = sum(c.recorded_seconds for c in self._rows)
        gaps = sum(len(c.gaps) for c in self._rows)
        damaged = sum(c.damaged_files for c in self._rows)
        share = f"{100 * recorded / window:.1f} % of the recording window recorded" if window else "no recording window"
        extra = f", {damaged} damaged file(s)" if damaged else ""
        return f"{len(self._rows)} camera(s): {share}, {gaps} gap(s){extra}"

