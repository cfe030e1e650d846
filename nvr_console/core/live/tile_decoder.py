"""One live tile's decoder: reads a camera's stream with PyAV (FFmpeg's libraries) on a thread of its own,
scales each frame to the tile's size and hands the newest one over as plain bytes; reconnects with backoff
when the camera stops answering.

The recorders come first on a console that records: the decode thread lowers its own priority (nice) and the
codec and the scaler work on that one thread (no FFmpeg frame or slice threads). Frames are never queued: the
thread keeps only the newest, and converts (scales) a frame only when the previous one was taken, so a busy UI
costs decoding nothing but the H.264 decode itself. The conversion (YUV to RGB, scaled to the tile) is most of
what a tile costs above FFmpeg's own decode (bench/live.py).
"""

from __future__ import annotations

import enum
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from nvr_console.core.stream_url import is_lavfi, lavfi_graphs
from nvr_console.core.text.masking import mask_secrets, mask_url

if TYPE_CHECKING:
    from av.video.frame import VideoFrame
    from av.video.reformatter import VideoReformatter

log = logging.getLogger(__name__)

DECODE_NICE = 10  # above the recorders' FFmpeg (nice 0): a loaded machine records first, the wall stutters
OPEN_TIMEOUT_S = 5.0  # connecting and the first answer
READ_TIMEOUT_S = 3.0  # a camera silent this long is stalled: the tile greys its last frame and reconnects
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 15.0)  # waits between attempts; the last repeats


# 32-bit pixels in the byte order of Qt's RGB32 (0xffRRGGBB in native order): the painter draws them without a
# conversion (24-bit RGB888 cost the UI thread a conversion per frame drawn).
PIXEL_FORMAT = "bgra" if sys.byteorder == "little" else "argb"


class LiveState(enum.StrEnum):
    CONNECTING = "connecting"
    PLAYING = "playing"
    STALLED = "stalled"  # no picture: waiting `retry_in` s before the next attempt
    STOPPED = "stopped"


@dataclass(frozen=True)
class LiveFrame:
    """A decoded picture scaled to the tile: 32-bit pixels (PIXEL_FORMAT, Qt's RGB32), rows of `stride` bytes."""

    camera_id: int
    width: int
    height: int
    stride: int
    rgb: memoryview  # read-only: the UI draws from it
    decoded_at: float  # epoch seconds


@dataclass(frozen=True)
class LiveStatus:
    camera_id: int
    state: LiveState
    last_frame_at: float = 0.0  # epoch seconds of the newest picture (0: none yet)
    error: str = ""  # why there is no picture, credentials masked
    retry_in: float = 0.0


def _even(n: int) -> int:
    return max(2, n - n % 2)


class TileDecoder(QObject):
    """Decodes one camera for one tile. start/stop/set_size/take_frame: any thread (the UI's); the decoding runs
    on the decoder's own thread and reaches the UI only through the signals (queued) and take_frame."""

    frame_ready = Signal(int)  # camera id: take_frame() has a new picture
    status_changed = Signal(object)  # LiveStatus

    def __init__(self, camera_id: int, url: str, transport: str = "tcp", size: tuple[int, int] = (640, 360),
                 nice: int = DECODE_NICE, codec_threads: int = 1, keyframes_only: bool = False) -> None:
        """keyframes_only: decode only the keyframes (a still for a preview: whole pictures, never one built on a
        reference frame missed before it joined, and a fraction of the decoding)."""
        super().__init__()
        self.camera_id, self._url, self._transport = camera_id, url, transport
        self._nice, self._codec_threads, self._keyframes_only = nice, codec_threads, keyframes_only
        self._lock = threading.Lock()
        self._size = (_even(size[0]), _even(size[1]))
        self._latest: LiveFrame | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_frame_at = 0.0
        self.frames_decoded = 0  # every picture the codec gave (shown or not); read by tests and the bench

    # --- the UI's side -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start decoding (again). Any thread."""
        if self.busy():
            self._stop.clear()
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), daemon=True,
                                        name=f"live-tile-{self.camera_id}")
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end; it does within READ_TIMEOUT_S (at once while frames flow). Never waits."""
        self._stop.set()

    def wait(self, timeout_s: float) -> bool:
        """Wait for the thread to end (tests, quitting). True: it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        return not self.busy()

    def busy(self) -> bool:
        """The decode thread is alive (decoding, connecting or waiting to retry)."""
        return self._thread is not None and self._thread.is_alive()

    def set_size(self, width: int, height: int) -> None:
        """The tile's size in pixels: later frames are scaled to it. Any thread."""
        with self._lock:
            self._size = (_even(width), _even(height))

    def take_frame(self) -> LiveFrame | None:
        """The newest picture not yet taken (None: none since the last take). Any thread."""
        with self._lock:
            frame, self._latest = self._latest, None
        return frame

    # --- the decode thread ---------------------------------------------------------------------------------

    def _status(self, state: LiveState, error: str = "", retry_in: float = 0.0) -> None:
        self.status_changed.emit(LiveStatus(self.camera_id, state, self._last_frame_at, mask_secrets(error), retry_in))

    def _run(self, stop: threading.Event) -> None:
        """The decode thread: lower its priority, then play, reconnecting with backoff until stopped."""
        try:  # per thread on Linux: only this thread (and threads it starts) yields to the recorders
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self._nice)
        except (OSError, AttributeError) as exc:
            log.debug("live tile %s: could not lower its priority: %s", self.camera_id, exc)
        attempt = 0
        while not stop.is_set():
            self._status(LiveState.CONNECTING)
            try:
                if self._play(stop):
                    attempt = 0  # it played: the next failure starts the backoff afresh
                if stop.is_set():
                    break
                error = "the camera ended the stream"
            except Exception as exc:  # av.FFmpegError, OSError, timeouts: the tile says why and retries
                if stop.is_set():
                    break
                error = _reason(exc)
            wait = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            attempt += 1
            log.info("live tile %s (%s): %s; retrying in %.0f s", self.camera_id, mask_url(self._url), error, wait)
            self._status(LiveState.STALLED, error, wait)
            stop.wait(wait)
        self._status(LiveState.STOPPED)

    def _play(self, stop: threading.Event) -> bool:
        """Decode until stopped, the stream ends or the camera goes silent (raises). True: a frame was shown."""
        import av  # the decoder's libraries load with the first tile, not with the console
        from av.video.reformatter import VideoReformatter

        if is_lavfi(self._url):
            video, _audio = lavfi_graphs(self._url)
            container = av.open(video, format="lavfi", timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S))
        else:
            # A still (keyframes_only) needs no low delay, and without buffering the first picture after joining a
            # stream can come out blank (one colour: the test server's /cam, each time): stills buffer as FFmpeg does.
            options = {} if self._keyframes_only else {"fflags": "nobuffer", "flags": "low_delay"}
            if self._url.lower().startswith("rtsp"):
                options["rtsp_transport"] = self._transport
            container = av.open(self._url, options=options, timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S))
        played = False
        scaler = VideoReformatter()  # its scaling context is kept from frame to frame
        try:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = self._codec_threads
            stream.codec_context.thread_type = "SLICE"  # no frame threads: no frames of delay, no extra cores
            if self._keyframes_only:
                stream.codec_context.skip_frame = "NONKEY"
            for packet in container.demux(stream):
                if stop.is_set():
                    return played
                for frame in packet.decode():
                    self.frames_decoded += 1
                    self._last_frame_at = time.time()
                    if not played:
                        played = True
                        self._status(LiveState.PLAYING)
                    self._offer(frame, scaler)
            return played
        finally:
            container.close()

    def _offer(self, frame: VideoFrame, scaler: VideoReformatter) -> None:
        """Convert the picture for the tile unless the UI has not taken the previous one yet (then skip it)."""
        with self._lock:
            if self._latest is not None:
                return
            box = self._size
        width, height = fit(frame.width, frame.height, box)
        # threads=1: the scaler on this (niced) thread only; PyAV's default starts a slice thread per core.
        out = scaler.reformat(frame, width=width, height=height, format=PIXEL_FORMAT,
                              interpolation="BILINEAR", threads=1)
        plane = out.planes[0]
        # A view of the converted frame's own buffer (it keeps the frame alive): no copy of the pixels.
        picture = LiveFrame(self.camera_id, width, height, plane.line_size, memoryview(plane), self._last_frame_at)
        with self._lock:
            self._latest = picture
        self.frame_ready.emit(self.camera_id)


def fit(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """The largest even size with the picture's proportions inside `box` (never larger than the picture: a tile
    bigger than the stream shows it scaled up by the painter, at no decoding cost)."""
    scale = min(box[0] / width, box[1] / height, 1.0)
    return _even(round(width * scale)), _even(round(height * scale))


def _reason(exc: Exception) -> str:
    """An operator's words for why a tile has no picture."""
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "timed out" in lowered or "immediate exit requested" in lowered:
        return "the camera does not answer"
    if "connection refused" in lowered:
        return "connection refused"
    if "401" in lowered or "unauthorized" in lowered:
        return "wrong user or password"
    if "404" in lowered or "not found" in lowered:
        return "no such stream path"
    return mask_secrets(text)
