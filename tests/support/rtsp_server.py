#!/usr/bin/python3
"""A real RTSP server for tests: GStreamer's RTSP server on 127.0.0.1.

Run with the SYSTEM python (it needs ``gi`` and gir1.2-gst-rtsp-server-1.0), not the venv:

    /usr/bin/python3 tests/support/rtsp_server.py --port 8554

Prints ``READY <port>`` on stdout once serving (``--port 0`` lets the server pick one).
SIGTERM / SIGINT stop it.

Mounts (all live, shared: every client of one mount shares one encoder to save CPU):
  /cam        H.264 640x360 25 fps, keyframe every 50 frames (2 s), no audio
  /cam_alaw   the same video + G.711 A-law audio, 8 kHz mono (RTP payload type 8)
  /cam_aac    the same video + AAC-LC audio, 16 kHz mono (only if avenc_aac or voaacenc exists)
  /audio      audio only: AAC-LC 16 kHz mono (the room "sound source"); falls back to G.711
              A-law when no AAC encoder is installed. The line ``AUDIO <codec>`` on stdout says which.
  /secure     same as /cam but needs user ``admin`` password ``s3cret-pass`` (basic auth);
              wrong or missing credentials get 401.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

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


def _factory(launch: str, roles: dict[str, bool]) -> GstRtspServer.RTSPMediaFactory:
    """roles: role name -> may construct (play) the media; every listed role may access it."""
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(f"( {launch} )")
    factory.set_shared(True)
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


def build_server(port: int) -> tuple[GstRtspServer.RTSPServer, str]:
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
    mounts = server.get_mount_points()
    mounts.add_factory("/cam", _factory(VIDEO, everyone))
    mounts.add_factory("/cam_alaw", _factory(f"{VIDEO} {ALAW.format(pay='pay1')}", everyone))
    enc = _aac_encoder()
    if enc:
        mounts.add_factory("/cam_aac", _factory(f"{VIDEO} {AAC.format(enc=enc, pay='pay1')}", everyone))
        mounts.add_factory("/audio", _factory(AAC.format(enc=enc, pay="pay0"), everyone))
        audio_codec = "aac"
    else:
        mounts.add_factory("/audio", _factory(ALAW.format(pay="pay0"), everyone))
        audio_codec = "pcm_alaw"
    # Anonymous may "access" but not "construct": GstRtspServer then answers 401 with
    # WWW-Authenticate (no access at all would answer 404 and hide the mount).
    mounts.add_factory("/secure", _factory(VIDEO, {"anonymous": False, "admin": True}))
    return server, audio_codec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8554, help="TCP port on 127.0.0.1 (0: any free port)")
    args = parser.parse_args(argv)

    Gst.init(None)
    server, audio_codec = build_server(args.port)
    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print(f"FAILED cannot listen on 127.0.0.1:{args.port}", flush=True)
        return 1

    def _quit(*_: object) -> bool:
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, _quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, _quit)
    print(f"AUDIO {audio_codec}", flush=True)
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
