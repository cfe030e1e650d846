"""Whether other local users can read the command lines of our FFmpeg processes, which hold camera passwords.

FFmpeg takes RTSP credentials only inside the URL, so the password of a camera is in the recorder's
command line for as long as it records. Who else can read it depends on the system:
- Linux: every user, through `ps` or /proc/PID/cmdline, unless /proc is mounted with `hidepid=` (1/noaccess,
  2/invisible or 4/ptraceable). A systemd service with ProtectProc= gets a /proc of its own with hidepid set,
  which says nothing about the host's /proc that other users read: that case is "unknown" here.
- Windows: only administrators can read another user's command lines.
- Elsewhere (macOS, BSD): not checked.
The engine says so once per process when it starts a camera whose URL has a password (PasswordNotice).
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from nvr_console.core.text.masking import mask_secrets

MOUNTINFO = Path("/proc/self/mountinfo")
# hidepid values that keep other users out of /proc/PID/cmdline (0/off lets everyone read it).
_HIDING = frozenset({"1", "2", "4", "noaccess", "invisible", "ptraceable"})
HOW_TO_HIDE = "mount /proc with hidepid=invisible (see the README, section Security)"


class Exposure(enum.Enum):
    EXPOSED = "exposed"
    HIDDEN = "hidden"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Visibility:
    exposure: Exposure
    reason: str  # one sentence for the operator


def proc_hidepid(mountinfo: str) -> str | None:
    """The hidepid option of the /proc mount in a /proc/self/mountinfo text (the last one mounted there wins),
    '0' if it has none, None if no proc file system is mounted at /proc."""
    hidepid: str | None = None
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        sep = fields.index("-")
        if len(fields) < 5 or fields[4] != "/proc" or len(fields) <= sep + 1 or fields[sep + 1] != "proc":
            continue
        options = ",".join([fields[5], *fields[sep + 3:sep + 4]]).split(",")
        hidepid = next((o.split("=", 1)[1] for o in options if o.startswith("hidepid=")), "0")
    return hidepid


def process_list_visibility(
    platform: str = sys.platform, mountinfo: Path = MOUNTINFO, environ: Mapping[str, str] | None = None
) -> Visibility:
    """Whether other local users can read this process's (and its children's) command lines. Any thread."""
    if platform == "win32":
        return Visibility(Exposure.HIDDEN, "on Windows only administrators can read other users' command lines")
    if not platform.startswith("linux"):
        return Visibility(Exposure.UNKNOWN, f"whether other users can read command lines is not checked on {platform}")
    try:
        hidepid = proc_hidepid(mountinfo.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        return Visibility(Exposure.UNKNOWN, f"cannot read {mountinfo} ({exc.strerror or exc})")
    if hidepid is None:
        return Visibility(Exposure.UNKNOWN, "no /proc file system is mounted at /proc")
    if hidepid not in _HIDING:
        return Visibility(Exposure.EXPOSED, "/proc is mounted without hidepid, so every local user can read them "
                                            f"(ps, /proc/PID/cmdline); {HOW_TO_HIDE}")
    env = os.environ if environ is None else environ
    if env.get("INVOCATION_ID"):  # a systemd service: its /proc may be its own (ProtectProc=)
        return Visibility(Exposure.UNKNOWN, f"this service's own /proc hides them (hidepid={hidepid}), but other "
                                            f"users read the host's /proc; unless it hides them too, {HOW_TO_HIDE}")
    return Visibility(Exposure.HIDDEN, f"/proc is mounted with hidepid={hidepid}")


class PasswordNotice:
    """Says once per process, when the first camera whose URL holds a password starts, whether other users can
    read that password in FFmpeg's command line: a warning if they can, an info line if that is unknown,
    nothing if they cannot."""

    def __init__(self, check: Callable[[], Visibility] = process_list_visibility) -> None:
        self._check = check
        self._said = False

    def once(self, url: str, emit: Callable[[str, str], None]) -> None:
        """Call before starting FFmpeg for `url`; `emit(level, text)` logs. Engine thread."""
        if self._said or mask_secrets(url) == url:
            return
        self._said = True
        seen = self._check()
        if seen.exposure is Exposure.HIDDEN:
            return
        level = "warning" if seen.exposure is Exposure.EXPOSED else "info"
        emit(level, f"camera passwords are in FFmpeg's command line while it records: {seen.reason}")


NOTICE = PasswordNotice()
