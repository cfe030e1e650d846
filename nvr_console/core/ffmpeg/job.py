"""The one runner of short FFmpeg and ffprobe jobs (a remux, a probe, a thumbnail, an export step).

What every job gets, whoever starts it:
- an argument list, never a shell; the program looked up first, so a missing FFmpeg is a clear error;
- a session of its own (a Ctrl-C or SIGTERM for the console must not break a remux half-way), and on Linux
  SIGKILL when the thread that started it dies (process_group.kill_on_parent_death_prefix);
- a time limit and cancellation, both of which SIGKILL the job's whole process group;
- stderr captured (bounded) and summarised as its last error lines, credentials masked.

Blocking: call it on a worker thread (or the CLI's main thread), never the UI's. The thread that calls it
starts and waits for the process, which the parent-death signal relies on. Each command is a small function
beside what it serves (recording.probe, recording.stream_probe, snapshot, recording.finalizer,
recording.duration_check, export.ffmpeg_step).
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nvr_console.core.ffmpeg.error_lines import summarise
from nvr_console.core.system import process_group
from nvr_console.core.text.masking import mask_secrets

POLL_S = 0.1  # how often the watchdog looks at the cancel flag; the job's own end needs no polling
STDERR_HEAD_BYTES = 1 << 20  # the start of stderr kept whole (stream dumps are parsed from it)
STDERR_TAIL_LINES = 200  # beyond the head, only the last lines are kept (the error is at the end)
_FIX = "check the FFmpeg setting (recording.ffmpeg) or install FFmpeg (Debian: apt-get install ffmpeg)"


class JobError(Exception):
    """The job did not run to its end; str() says why, credentials masked."""


class JobNotStarted(JobError):
    """The program could not be started (not installed, not executable)."""


class JobStopped(JobError):
    """Stopped by the runner (time limit or cancellation); `result` holds what it printed until then."""

    def __init__(self, message: str, result: JobResult) -> None:
        super().__init__(message)
        self.result = result


class JobTimedOut(JobStopped):
    """The job ran past its time limit and was killed."""


class JobCancelled(JobStopped):
    """The caller's cancel flag was set and the job was killed."""


@dataclass(frozen=True)
class JobResult:
    returncode: int
    stdout: bytes  # b"" when the caller took stdout line by line
    stderr: str  # decoded; its first MiB, then its last lines

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def summary(self, lines: int = 1) -> str:
        """The last `lines` error lines of stderr, masked; or the exit code when stderr says nothing."""
        return summarise(self.stderr, lines) or f"exit code {self.returncode}"


def run_job(argv: Sequence[str | os.PathLike[str]], *, timeout_s: float | None, input: bytes | None = None,
            cancel: threading.Event | None = None, stdout_lines: Callable[[bytes], None] | None = None) -> JobResult:
    """Run `argv` to its end and return its exit code and output; raise JobNotStarted, JobTimedOut (after
    `timeout_s`; None: no limit) or JobCancelled (once `cancel` is set). `input` is written to its stdin (else
    stdin is empty); `stdout_lines`, when given, gets each stdout line as it comes instead of the result
    keeping stdout. Blocking; any thread but the UI's."""
    args = [os.fspath(a) for a in argv]
    program = shutil.which(args[0]) if args else None
    if program is None:
        raise JobNotStarted(f"cannot run {mask_secrets(args[0]) if args else 'an empty command'}: no such program; "
                            f"{_FIX}")
    try:
        proc = subprocess.Popen([*process_group.kill_on_parent_death_prefix(), program, *args[1:]],
                                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise JobNotStarted(f"cannot run {program}: {exc.strerror or exc}; {_FIX}") from None
    return _Running(proc, timeout_s, cancel).finish(input, stdout_lines)


class _Running:
    """A started job: its readers, its watchdog, and why it was stopped if it was."""

    def __init__(self, proc: subprocess.Popen[bytes], timeout_s: float | None,
                 cancel: threading.Event | None) -> None:
        self.proc = proc
        self.deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self.timeout_s = timeout_s
        self.cancel = cancel
        self.stopped: type[JobStopped] | None = None
        self.done = threading.Event()
        self.head: list[bytes] = []
        self.tail: collections.deque[bytes] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.left_out = 0

    def finish(self, input: bytes | None, stdout_lines: Callable[[bytes], None] | None) -> JobResult:
        threads = [threading.Thread(target=self._read_stderr, daemon=True),
                   threading.Thread(target=self._watch, daemon=True)]
        if input is not None:
            threads.append(threading.Thread(target=self._write_stdin, args=(input,), daemon=True))
        for thread in threads:
            thread.start()
        out = b""
        try:
            assert self.proc.stdout is not None
            if stdout_lines is None:
                out = self.proc.stdout.read()
            else:
                for line in self.proc.stdout:
                    stdout_lines(line)
            code = self.proc.wait()
        finally:
            self.done.set()
            if self.proc.poll() is None:  # the caller's callback raised: the job must not outlive the call
                self._kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(5)
            for thread in threads:
                thread.join(5)
            for pipe in (self.proc.stdout, self.proc.stderr, self.proc.stdin):
                if pipe is not None:
                    pipe.close()
        result = JobResult(code, out, self._stderr_text())
        if self.stopped is JobTimedOut:
            said = summarise(result.stderr)
            raise JobTimedOut(f"stopped after {self.timeout_s:g} s, its time limit" + (f" ({said})" if said else ""),
                              result)
        if self.stopped is JobCancelled:
            raise JobCancelled("cancelled", result)
        return result

    def _watch(self) -> None:
        while not self.done.wait(POLL_S if self.cancel is not None else self._left(POLL_S * 50)):
            if self.cancel is not None and self.cancel.is_set():
                self._stop(JobCancelled)
                return
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self._stop(JobTimedOut)
                return

    def _left(self, most: float) -> float:
        return most if self.deadline is None else max(0.0, min(most, self.deadline - time.monotonic()))

    def _stop(self, why: type[JobStopped]) -> None:
        # returncode is set once the calling thread has reaped the job: no group to kill after that.
        if self.proc.returncode is None:
            self.stopped = why
            self._kill()

    def _kill(self) -> None:
        # The job leads its own group (start_new_session); whatever it started goes with it.
        if not process_group.kill_session(self.proc.pid):
            with contextlib.suppress(OSError):
                self.proc.kill()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        size = 0
        for line in self.proc.stderr:
            if size < STDERR_HEAD_BYTES:
                self.head.append(line)
                size += len(line)
            else:
                if len(self.tail) == self.tail.maxlen:
                    self.left_out += 1
                self.tail.append(line)

    def _write_stdin(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        # The job may stop reading early (a thumbnail needs one keyframe): a closed pipe is no error here.
        with contextlib.suppress(BrokenPipeError, OSError):
            self.proc.stdin.write(data)
            self.proc.stdin.close()

    def _stderr_text(self) -> str:
        lines = self.head
        if self.left_out:
            lines = [*lines, f"[{self.left_out} lines of stderr left out]\n".encode(), *self.tail]
        elif self.tail:
            lines = [*lines, *self.tail]
        return b"".join(lines).decode("utf-8", "replace")
