#!/usr/bin/python3
"""A test camera: GStreamer's RTSP server serving H.264 test patterns, for the camera tests.

    /usr/bin/python3 tests/support/rtsp_camera.py --port 8554 [--user u --password p --auth digest]
        [--size 320x240] [--fps 25] [--gop 25] [--pattern ball]

Serves `/main` and `/sub` (a quarter of the size). Each mount is shared: every client sees the
one pipeline, so a change of picture reaches everyone. Reads commands on stdin, one per line, and
answers each with `ok <command>` on stdout:

    pattern NAME   the picture becomes a videotestsrc pattern: `ball` (moving), `bars` (static
                   colour bars: a frozen picture), `black` (a covered lens)

Prints `ready <port>` once it listens. Needs Debian's python3-gi, gir1.2-gst-rtsp-server-1.0 and
gstreamer1.0-plugins-{base,good,ugly} (x264enc); run it with /usr/bin/python3 (scripts/test installs
them).
"""

import argparse
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

# videotestsrc's numbers; `bars` is smpte75, whose bars have no patch of noise (smpte's has)
PATTERNS = {"ball": 18, "bars": 13, "black": 2}


def launch(width, height, fps, gop, pattern, bitrate):
    # The ball moves; a time overlay keeps even a static pattern changing unless it is frozen, so
    # the overlay is only on while the pattern is `ball` (see Camera.set_pattern).
    return (
        f"( videotestsrc name=src is-live=true pattern={PATTERNS[pattern]} "
        f"! video/x-raw,width={width},height={height},framerate={fps}/1 "
        f"! timeoverlay name=clock silent={'false' if pattern == 'ball' else 'true'} "
        f"font-desc=\"Sans {max(8, height // 20)}\" "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate={bitrate} "
        f"! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )


class Camera:
    def __init__(self, args):
        self.pattern = args.pattern
        self.elements = []  # (videotestsrc, timeoverlay) of every configured media
        self.server = GstRtspServer.RTSPServer()
        self.server.set_service(str(args.port))
        width, height = (int(x) for x in args.size.split("x"))
        mounts = self.server.get_mount_points()
        for path, (w, h, rate) in {
            "/main": (width, height, args.bitrate),
            "/sub": (max(16, width // 2), max(16, height // 2), max(64, args.bitrate // 4)),
        }.items():
            factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(launch(w, h, args.fps, args.gop, args.pattern, rate))
            factory.set_shared(True)
            factory.connect("media-configure", self.configured)
            if args.user:
                permissions = GstRtspServer.RTSPPermissions()
                permissions.add_permission_for_role("viewer", "media.factory.access", True)
                permissions.add_permission_for_role("viewer", "media.factory.construct", True)
                factory.set_permissions(permissions)
            mounts.add_factory(path, factory)
        if args.user:
            auth = GstRtspServer.RTSPAuth()
            token = GstRtspServer.RTSPToken()
            token.set_string("media.factory.role", "viewer")
            if args.auth == "digest":
                auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
                auth.add_digest(args.user, args.password, token)
            else:
                auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
                basic = GstRtspServer.RTSPAuth.make_basic(args.user, args.password)
                auth.add_basic(basic, token)
            self.server.set_auth(auth)

    def configured(self, _factory, media):
        bin_ = media.get_element()
        self.elements.append((bin_.get_by_name("src"), bin_.get_by_name("clock")))
        self.apply()

    def apply(self):
        for src, clock in self.elements:
            src.set_property("pattern", PATTERNS[self.pattern])
            clock.set_property("silent", self.pattern != "ball")
        return False

    def command(self, line):
        words = line.split()
        if len(words) == 2 and words[0] == "pattern" and words[1] in PATTERNS:
            self.pattern = words[1]
            GLib.idle_add(self.apply)
            return True
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user")
    parser.add_argument("--password", default="")
    parser.add_argument("--auth", choices=["basic", "digest"], default="digest")
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--gop", type=int, default=25, help="frames from one keyframe to the next")
    parser.add_argument("--bitrate", type=int, default=400, help="kbit/s of the main stream")
    parser.add_argument("--pattern", choices=sorted(PATTERNS), default="ball")
    args = parser.parse_args()

    Gst.init(None)
    camera = Camera(args)
    loop = GLib.MainLoop()
    if camera.server.attach(None) == 0:
        sys.exit(f"cannot listen on port {args.port}")
    print(f"ready {args.port}", flush=True)

    def commands():
        for line in sys.stdin:
            ok = camera.command(line.strip())
            print(f"{'ok' if ok else 'error'} {line.strip()}", flush=True)
        GLib.idle_add(loop.quit)

    threading.Thread(target=commands, daemon=True).start()
    loop.run()


if __name__ == "__main__":
    main()
