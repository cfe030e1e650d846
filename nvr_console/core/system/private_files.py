"""Files other local users must not read: the SQLite database (camera URLs with their passwords), logs.

Created with the narrow mode from the start (os.open's mode, not chmod afterwards, so there is no moment
when the file is wider), and an existing file found wider is narrowed. POSIX modes only: on Windows the
per-user profile folders nvr-console uses by default are private already, and these functions do nothing.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
LOG_FILE = 0o640

_POSIX = os.name == "posix"


def make_private_dir(path: Path) -> None:
    """Create `path` (and missing parents) if absent; the folder itself with mode 0700. An existing folder is
    left as it is: it may be shared on purpose (a recordings disk, /var/lib/...). Any thread."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)


def create_private_file(path: Path, mode: int = PRIVATE_FILE) -> bool:
    """Create an empty `path` with `mode` unless it exists; True if it was created here. Any thread."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def narrow_mode(path: Path, mode: int = PRIVATE_FILE) -> int | None:
    """Take away every permission bit of `path` that `mode` does not have. Returns the old mode if it was
    wider (the caller says so in its log), else None: also when the file is missing, is not ours to change
    (EPERM) or on Windows. Symlinks are not followed. Any thread."""
    if not _POSIX:
        return None
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    old = stat.S_IMODE(st.st_mode)
    if old & ~mode == 0:
        return None
    with contextlib.suppress(OSError):
        os.chmod(path, old & mode)
        return old
    return None

