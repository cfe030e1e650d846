"""What a node keeps beside its recordings so it can record while the database is unreachable.

`<recording.dir>/.nvr-node/`:
  holdings.json  the units this node held last (unit -> token, camera ids, room id): a recorder started
                 while the database is down records them until the database answers.
  catalog.json   the cameras and rooms those units need (names, stream URLs): written by the engine.
Written atomically (temp file + rename), mode 0600: stream URLs may carry camera passwords, as the
database does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHE_DIR = ".nvr-node"


def cache_dir(recordings: Path) -> Path:
    return recordings / CACHE_DIR


def save(path: Path, data: Any) -> bool:
    """Write `data` as JSON atomically; False (logged) if the disk refuses. Any thread."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return True
    except OSError as exc:
        log.warning("cannot write %s: %s", path, exc.strerror or exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return False


def load(path: Path) -> Any | None:
    """The JSON in `path`, or None if it is missing or unreadable (logged). Any thread."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None
