#!/usr/bin/python3
"""A real RTSP server for tests: GStreamer's RTSP server on 127.0.0.1.

Run with the SYSTEM python (it needs ``gi`` and gir1.2-gst-rtsp-server-1.0), not the venv:

    /usr/bin/python3 tests/support/rtsp_server.py --port 8554

Prints ``READY <port>`` on stdout once serving (``--port 0`` lets the server pick one).
``--mount /path=LAUNCH`` (repeatable) adds a mount of the caller's own, not shared (every client gets its own
pipeline, from the start of a file for ``filesrc`` mounts): the stream matrix (tests/support/stream_matrix.py).
SIGTERM / SIGINT stop it. SIGUSR1 puts every mount's current pipeline into an error (see _HealingFactory).

Mounts (all live, shared: every client of one mount shares one encoder to save CPU):
  /cam        H.264 640x360 25 fps, keyframe every 50 frames (2 s), no audio
  /frames     H.264 192x108 25 fps of noise, keyframe every 2 s: every packet unique (frame-exact comparisons)
  /cam_alaw   the same video + G.711 A-law audio, 8 kHz mono (RTP payload type 8)
  /cam_aac    the same video + AAC-LC audio, 16 kHz mono (only if avenc_aac or voaacenc exists)
  /audio      audio only: AAC-LC 16 kHz mono (the room "sound source"); falls back to G.711
              A-law when no AAC encoder is installed. The line ``AUDIO <codec>`` on stdout says which.
  /secure     same as /cam but needs user ``admin`` password ``s3cret-pass`` (basic auth);
              wrong or missing credentials get 401.
  /clock      H.264 640x360 25 fps whose frames carry their send time as a bar code (tests/support/clock_code.py),
              NOT shared: glass-to-glass latency (bench/live.py)
  /solo       like /frames, but NOT shared: every client gets an encoder of its own. On a shared mount a
              client that joins compresses the timestamps of the clients already playing for a few seconds
              (50 frames in 0.09 s, measured with two plain FFmpeg); tests where a second node joins a camera
              that is recording and that check files' durations use this mount.
  /resize     a camera changing its picture inside its stream: noise like /frames at 192x108, then from
              RESIZE_AFTER_S after the media starts at 320x176, switched at the new encoder's keyframe (a new
              in-band SPS with the IDR, as a camera does; the SDP keeps the first). Shared and live: a client that
              reconnects joins the new picture. Prints ``RESIZED`` on stderr at the switch.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: the checkout's root
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

from tests.support import clock_code  # noqa: E402

SECURE_USER = "admin"
SECURE_PASSWORD = "s3cret-pass"

# ball moves, so consecutive frames differ; 640x360 keeps x264 cheap on 2 cores.
# config-interval=-1 repeats SPS/PPS before every IDR so clients joining a shared media mid-stream
# can decode from the next keyframe.
VIDEO = (
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=25/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=50 bitrate=600 "
    "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1"
)
# Every frame different (noise), so each packet's hash names one frame: tests count frames lost or recorded
# twice across two recorders' files (a handover) by matching packet hashes. Small, to keep x264 cheap.
FRAMES = (
    "videotestsrc is-live=true pattern=snow ! video/x-raw,width=192,height=108,framerate=25/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=50 bitrate=300 "
    "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1"
)
# Frames made here, each stamped with the wall-clock time it is handed to the encoder.
CLOCK = (
    f"appsrc name=clocksrc is-live=true format=time do-timestamp=true block=false max-bytes=1000000 "
    f"caps=video/x-raw,format=I420,width={clock_code.WIDTH},height={clock_code.HEIGHT},framerate=25/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=50 bitrate=800 "
    "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1"
)
FRAME_S = 0.04


def _feed_clock(_factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
    """Each client's /clock pipeline: frames paced at 25 fps on the streaming thread, stamped as they go."""
    src = media.get_element().get_by_name("clocksrc")
    state = {"next": time.monotonic(), "n": 0}

    def need_data(appsrc: Gst.Element, _length: int) -> None:
        wait = state["next"] - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        state["next"] = max(state["next"] + FRAME_S, time.monotonic() - FRAME_S)
        state["n"] += 1
        frame = clock_code.frame_i420(int(time.time() * 1000), int(state["n"]))
        appsrc.emit("push-buffer", Gst.Buffer.new_wrapped(frame))

    src.connect("need-data", need_data)


RESIZE_AFTER_S = 15  # after the clients joining with the media have probed (FFmpeg: ~5 s) and record
RESIZE = (
    "videotestsrc is-live=true pattern=snow ! video/x-raw,width=192,height=108,framerate=25/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 bitrate=300 "
    "! video/x-h264,profile=baseline ! sel.sink_0 "
    "videotestsrc is-live=true pattern=snow ! video/x-raw,width=320,height=176,framerate=25/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 bitrate=400 "
    "! video/x-h264,profile=baseline ! sel.sink_1 "
    "input-selector name=sel ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1"
)
ALAW = (
    "audiotestsrc is-live=true wave=sine freq=440 volume=0.3 ! audio/x-raw,rate=8000,channels=1 "
    "! alawenc ! rtppcmapay name={pay} pt=8"
)
AAC = (
    "audiotestsrc is-live=true wave=sine freq=660 volume=0.3 ! audio/x-raw,rate=16000,channels=1 "
    "! audioconvert ! {enc} ! aacparse ! rtpmp4gpay name={pay} pt=97"
)


def _aac_encoder() -> str | None:
    for name in ("avenc_aac", "voaacenc"):
        if Gst.ElementFactory.find(name) is not None:
            return name
    return None


# A shared media that went to ERROR (or hangs while unpreparing) stays in the factory's cache, and from
# then on every new client of that mount gets 503 while the clients already playing go on: seen in full
# test runs on the loaded 2-core CI machine. Real cameras recover by restarting their encoder; so does this.
_STUCK = {GstRtspServer.RTSPMediaStatus.ERROR, GstRtspServer.RTSPMediaStatus.UNPREPARING}


class _HealingFactory(GstRtspServer.RTSPMediaFactory):
    """A shared-media factory that gives new clients a fresh pipeline once the cached one is stuck."""

    def __init__(self, mount: str) -> None:
        super().__init__()
        self._mount = mount
        self._lock = threading.Lock()
        self._generation = 0
        self._media: GstRtspServer.RTSPMedia | None = None
        self.connect("media-configure", self._on_configure)

    def break_media(self) -> bool:
        """Post an error on the current shared pipeline, as an encoder fault would (tests of the healing)."""
        with self._lock:
            media = self._media
        if media is None:
            return False
        element = media.get_element()  # its messages reach the pipeline bus the media watches
        return element.post_message(Gst.Message.new_error(element, GLib.Error("injected encoder fault"), "SIGUSR1"))

    def _on_configure(self, _factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
        with self._lock:
            self._media = media
        if self._mount == "/resize":
            _switch_later(media.get_element().get_by_name("sel"))

    def do_gen_key(self, url: Any) -> str:  # a GstRtsp.RTSPUrl (gi has no types)
        with self._lock:
            media = self._media
            status = media.get_status() if media is not None else None
            if status is not None and status in _STUCK:
                self._generation += 1
                self._media = None
                print(f"HEAL {self._mount}: the shared media was {status.value_nick}; new clients get a fresh "
                      "pipeline", file=sys.stderr, flush=True)
            query = f"?{url.query}" if url.query else ""
            return f"{url.abspath}{query}#{self._generation}"


def _switch_later(sel: Gst.Element) -> None:
    """/resize: after RESIZE_AFTER_S, make the second encoder's stream the output at its next keyframe."""
    sel.set_property("active-pad", sel.get_static_pad("sink_0"))
    armed = threading.Event()

    def probe(pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        buf = info.get_buffer()
        if armed.is_set() and buf is not None and not buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
            sel.set_property("active-pad", pad)
            print("RESIZED", file=sys.stderr, flush=True)
            return Gst.PadProbeReturn.REMOVE
        return Gst.PadProbeReturn.OK

    sel.get_static_pad("sink_1").add_probe(Gst.PadProbeType.BUFFER, probe)

    def arm() -> bool:
        armed.set()
        return GLib.SOURCE_REMOVE

    GLib.timeout_add(RESIZE_AFTER_S * 1000, arm)


def _factory(mount: str, launch: str, roles: dict[str, bool], shared: bool = True) -> GstRtspServer.RTSPMediaFactory:
    """roles: role name -> may construct (play) the media; every listed role may access it."""
    factory = _HealingFactory(mount)
    factory.set_launch(f"( {launch} )")
    factory.set_shared(shared)
    # Default protocols already allow UDP, UDP multicast and TCP-interleaved.
    perms = GstRtspServer.RTSPPermissions()
    for role, construct in roles.items():
        perms.add_role_from_structure(
            Gst.Structure.new_from_string(
                f"{role}, media.factory.access=(boolean)true, "
                f"media.factory.construct=(boolean){'true' if construct else 'false'}"
            )
        )
    factory.set_permissions(perms)
    return factory


def build_server(port: int, extra: dict[str, str] | None = None,
                 ) -> tuple[GstRtspServer.RTSPServer, str, dict[str, _HealingFactory]]:
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    # Without this, clients connecting together are served one after another (a second apart).
    server.get_thread_pool().set_max_threads(-1)

    auth = GstRtspServer.RTSPAuth()
    anon = GstRtspServer.RTSPToken()
    anon.set_string("media.factory.role", "anonymous")
    auth.set_default_token(anon)
    admin = GstRtspServer.RTSPToken()
    admin.set_string("media.factory.role", "admin")
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(SECURE_USER, SECURE_PASSWORD), admin)
    # Basic only: RTSPAuthMethod is an enum in the bindings, so BASIC|DIGEST cannot be passed from Python.
    server.set_auth(auth)

    everyone = {"anonymous": True, "admin": True}
    enc = _aac_encoder()
    launches: dict[str, tuple[str, dict[str, bool]]] = {
        "/cam": (VIDEO, everyone),
        "/frames": (FRAMES, everyone),
        "/solo": (FRAMES, everyone),
        "/resize": (RESIZE, everyone),
        "/cam_alaw": (f"{VIDEO} {ALAW.format(pay='pay1')}", everyone),
        # Anonymous may "access" but not "construct": GstRtspServer then answers 401 with
        # WWW-Authenticate (no access at all would answer 404 and hide the mount).
        "/secure": (VIDEO, {"anonymous": False, "admin": True}),
    }
    if enc:
        launches["/cam_aac"] = (f"{VIDEO} {AAC.format(enc=enc, pay='pay1')}", everyone)
        launches["/audio"] = (AAC.format(enc=enc, pay="pay0"), everyone)
        audio_codec = "aac"
    else:
        launches["/audio"] = (ALAW.format(pay="pay0"), everyone)
        audio_codec = "pcm_alaw"
    launches["/clock"] = (CLOCK, everyone)
    factories = {mount: _factory(mount, launch, roles, shared=mount not in ("/solo", "/clock"))
                 for mount, (launch, roles) in launches.items()}
    factories["/clock"].connect("media-configure", _feed_clock)
    for mount, launch in (extra or {}).items():
        factories[mount] = _factory(mount, launch, everyone, shared=False)
    mounts = server.get_mount_points()
    for mount, factory in factories.items():
        mounts.add_factory(mount, factory)
    return server, audio_codec, factories


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8554, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--mount", action="append", default=[], metavar="/PATH=LAUNCH",
                        help="an extra unshared mount with this gst-launch description (repeatable)")
    args = parser.parse_args(argv)

    Gst.init(None)
    extra = dict(m.split("=", 1) for m in args.mount)
    server, audio_codec, factories = build_server(args.port, extra)
    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print(f"FAILED cannot listen on 127.0.0.1:{args.port}", flush=True)
        return 1

    def _quit(*_: object) -> bool:
        loop.quit()
        return GLib.SOURCE_REMOVE

    def _break(*_: object) -> bool:
        broken = [m for m, f in factories.items() if f.break_media()]
        print(f"BROKEN {' '.join(broken)}", file=sys.stderr, flush=True)
        return GLib.SOURCE_CONTINUE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, _break)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, _quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, _quit)
    print(f"AUDIO {audio_codec}", flush=True)
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
