"""Who can read FFmpeg's command line (camera passwords): the answer, checked against what another user really
reads on this machine, and the notice the engine gives once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nvr_console.core.system.process_visibility import (
    Exposure,
    PasswordNotice,
    Visibility,
    proc_hidepid,
    process_list_visibility,
)

HOST = "22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
ROOT = "1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"


@pytest.mark.parametrize(("mountinfo", "hidepid"), [
    (ROOT + HOST, "0"),
    (ROOT + HOST.replace("proc rw\n", "proc rw,hidepid=2\n"), "2"),
    (ROOT + HOST + "63 45 0:39 / /proc rw,relatime - proc proc rw,hidepid=invisible\n", "invisible"),
    (ROOT + "70 1 0:50 / /tmp/p rw - proc proc rw,hidepid=2\n" + HOST, "0"),  # another mount point
    (ROOT, None),
])
def test_hidepid_of_the_proc_mount(mountinfo: str, hidepid: str | None) -> None:
    assert proc_hidepid(mountinfo) == hidepid


def _visibility(tmp_path: Path, mountinfo: str, platform: str = "linux", **env: str) -> Visibility:
    f = tmp_path / "mountinfo"
    f.write_text(mountinfo)
    return process_list_visibility(platform, f, env)


def test_each_platform_and_mount_gets_an_answer(tmp_path: Path) -> None:
    exposed = _visibility(tmp_path, ROOT + HOST)
    assert exposed.exposure is Exposure.EXPOSED and "hidepid=invisible" in exposed.reason
    for value in ("1", "2", "4", "noaccess", "invisible", "ptraceable"):
        hidden = ROOT + HOST.replace("proc rw\n", f"proc rw,hidepid={value}\n")
        assert _visibility(tmp_path, hidden).exposure is Exposure.HIDDEN
        # A systemd service (ProtectProc=) may see a /proc of its own: the host's is what other users read.
        service = _visibility(tmp_path, hidden, INVOCATION_ID="0123abcd")
        assert service.exposure is Exposure.UNKNOWN and "host's /proc" in service.reason
    assert _visibility(tmp_path, ROOT + HOST.replace("proc rw\n", "proc rw,hidepid=0\n")).exposure is Exposure.EXPOSED
    assert _visibility(tmp_path, ROOT).exposure is Exposure.UNKNOWN
    assert process_list_visibility("linux", tmp_path / "missing", {}).exposure is Exposure.UNKNOWN
    assert process_list_visibility("win32").exposure is Exposure.HIDDEN
    assert process_list_visibility("darwin").exposure is Exposure.UNKNOWN


def test_the_notice_is_said_once_for_the_first_url_with_a_password() -> None:
    said: list[tuple[str, str]] = []
    notice = PasswordNotice(lambda: Visibility(Exposure.EXPOSED, "anyone can read them"))
    notice.once("rtsp://10.0.0.5/open", lambda *a: said.append(a))
    notice.once("lavfi:testsrc2", lambda *a: said.append(a))
    assert said == []
    notice.once("rtsp://admin:secret@10.0.0.5/s", lambda *a: said.append(a))
    notice.once("rtsp://admin:other@10.0.0.6/s", lambda *a: said.append(a))
    assert said == [("warning", "camera passwords are in FFmpeg's command line while it records: anyone can read them")]
    for exposure, expected in ((Exposure.UNKNOWN, ["info"]), (Exposure.HIDDEN, [])):
        levels: list[str] = []
        PasswordNotice(lambda e=exposure: Visibility(e, "why")).once(
            "http://h/x?password=p", lambda level, _text, into=levels: into.append(level))
        assert levels == expected


# --- against the real system ---------------------------------------------------------------------------------

needs_root_linux = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("setpriv"),
    reason="needs Linux, root and setpriv to read /proc as another user")


def _as_nobody_reads_cmdline(pid: int, prefix: list[str] | None = None) -> bool:
    cmd = [*(prefix or []), "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat",
           f"/proc/{pid}/cmdline"]
    proc = subprocess.run(cmd, capture_output=True, timeout=30, check=False)
    return proc.returncode == 0 and b"hunter2" in proc.stdout


@needs_root_linux
def test_the_answer_matches_what_another_user_reads_here() -> None:
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "rtsp://u:hunter2@h/s"])
    try:
        seen = process_list_visibility(environ={})
        assert seen.exposure in (Exposure.EXPOSED, Exposure.HIDDEN), seen
        assert _as_nobody_reads_cmdline(victim.pid) == (seen.exposure is Exposure.EXPOSED)
    finally:
        victim.kill()
        victim.wait()


@needs_root_linux
def test_with_proc_mounted_hidepid_invisible_nobody_reads_it_and_the_answer_says_hidden() -> None:
    """The README's advice, tried in a mount namespace of its own (the machine's /proc is not touched)."""
    if not shutil.which("unshare"):
        pytest.skip("needs unshare (util-linux)")
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "rtsp://u:hunter2@h/s"])
    ask = (f"{sys.executable} -c 'from nvr_console.core.system.process_visibility import *; "
           "print(process_list_visibility(environ={}).exposure.value)'")
    try:
        script = (f"mount -t proc -o hidepid=invisible proc /proc || exit 77; {ask}; setpriv --reuid=65534 "
                  f"--regid=65534 --clear-groups cat /proc/{victim.pid}/cmdline >/dev/null 2>&1 && echo readable")
        proc = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True,
                              timeout=60, check=False, cwd=Path(__file__).resolve().parents[3])
        if proc.returncode == 77 or "Operation not permitted" in proc.stderr:
            pytest.skip(f"cannot mount /proc in a new mount namespace here: {proc.stderr.strip()}")
        assert proc.stdout.split() == ["hidden"], proc.stderr
    finally:
        victim.kill()
        victim.wait()
