"""A camera whose timestamps jump: an MPEG-TS file served over HTTP at the pace it was recorded (its bytes spread
evenly over `seconds`), as a live stream. FFmpeg reads `http://127.0.0.1:PORT/cam` like any camera URL.

    with PacedStream(ts_file, seconds=30) as cam:
        url = cam.url                                   # http://127.0.0.1:PORT/cam

Make the file with jumping timestamps by FFmpeg itself (`-c copy -bsf:v setts=...`): the MPEG-TS muxer then
logs "Non-monotonous DTS ... changing to" for every frame and packs them one tick apart, as a camera whose
clock jumps does. One client at a time; the stream ends after `seconds` (the connection closes).
"""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

CHUNK = 188 * 64  # whole TS packets


class PacedStream:
    def __init__(self, ts_file: Path, seconds: float) -> None:
        self.data = ts_file.read_bytes()
        self.seconds = seconds
        self.clients = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.clients += 1
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.end_headers()
                start = time.monotonic()
                total = len(outer.data)
                with contextlib.suppress(OSError):
                    for pos in range(0, total, CHUNK):
                        due = start + outer.seconds * pos / total
                        delay = due - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                        self.wfile.write(outer.data[pos:pos + CHUNK])
                        self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/cam"

    def __enter__(self) -> PacedStream:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
