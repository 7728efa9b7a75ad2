"""Serve synthetic RTSP cameras with GStreamer; run with Debian's /usr/bin/python3, not the venv.

Standalone on purpose: it imports nothing from the project, because the `gi` bindings
come from Debian's python3-gi. Mounts are /cam1 .. /camN. It prints one line,
`READY rtsp://HOST:PORT`, on stdout once it listens, and nothing else on stdout.

With `--clip FILE` (a raw Annex-B H.264 file, no B-frames) every mount serves that clip, looped and
paced at `--fps`, without encoding anything: for scale benchmarks, where the server must not eat the
cores being measured. h264parse stamps such a stream with decode timestamps only, so a pad probe
copies DTS into PTS; without it ffmpeg says "Timestamps are unset" and nothing is paced.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

log = logging.getLogger("wardcam.rtsp_server")

EXIT_MISSING = 3  # python3-gi, GstRtspServer or a GStreamer element is missing
EXIT_BIND = 4  # the server could not listen

# Foreground colours (ARGB) of the bouncing ball, one a camera, so that cameras differ.
BALL_COLOURS = (0xFFFFFFFF, 0xFFFF4040, 0xFF40FF40, 0xFF4080FF, 0xFFFFFF40, 0xFFFF40FF, 0xFF40FFFF)

VIDEO_ENCODERS = {
    "h264": (
        "x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate={kbps}"
        " ! video/x-h264,profile=baseline"
        " ! rtph264pay name=pay0 pt=96 config-interval=1"
    ),
    "h265": (
        "x265enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate={kbps}"
        " ! video/x-h265,profile=main"
        " ! rtph265pay name=pay0 pt=96 config-interval=1"
    ),
}

# A pre-encoded clip, served as it is: no decoding, no encoding. `identity name=stamp` carries the
# DTS-to-PTS pad probe; `identity sync=true` paces the buffers in real time.
CLIP_PIPELINE = (
    'multifilesrc location="{location}" loop=true'
    ' caps="video/x-h264,stream-format=byte-stream,framerate={fps}/1"'
    " ! h264parse ! identity name=stamp ! identity sync=true"
    " ! rtph264pay name=pay0 pt=96 config-interval=-1"
)
CLIP_ELEMENTS = ("multifilesrc", "h264parse", "identity", "rtph264pay")

AUDIO_ENCODERS = {
    "alaw": "alawenc ! rtppcmapay name=pay1 pt=8",
    "mulaw": "mulawenc ! rtppcmupay name=pay1 pt=0",
    "aac": "voaacenc bitrate=32000 ! aacparse ! rtpmp4gpay name=pay1 pt=97",
}

REQUIRED_ELEMENTS = {
    "h264": ("x264enc", "rtph264pay"),
    "h265": ("x265enc", "rtph265pay"),
    "alaw": ("alawenc", "rtppcmapay"),
    "mulaw": ("mulawenc", "rtppcmupay"),
    "aac": ("voaacenc", "aacparse", "rtpmp4gpay"),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(description="Serve synthetic RTSP cameras /cam1../camN.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8554, help="TCP port; 0 picks a free one")
    p.add_argument("--cameras", type=int, default=1)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--fps", type=int, default=10)
    p.add_argument("--bitrate", type=int, default=0, help="video kbit/s; 0 scales with the size")
    p.add_argument("--codec", choices=sorted(VIDEO_ENCODERS), default="h264")
    p.add_argument("--audio", choices=["none", *sorted(AUDIO_ENCODERS)], default="none")
    p.add_argument(
        "--clip",
        default=None,
        help="serve this raw Annex-B H.264 file (no B-frames) looped at --fps on every mount, without encoding",
    )
    p.add_argument(
        "--pattern",
        choices=["ball", "timecode"],
        default="ball",
        help="ball: a bouncing ball under a clock; timecode: the wall-clock time in blocks a program reads back",
    )
    p.add_argument("--user", default=None, help="require Basic auth with this user")
    p.add_argument(
        "--password",
        default=os.environ.get("RTSP_PASSWORD"),
        help="the password (default: $RTSP_PASSWORD, which keeps it out of the process list)",
    )
    p.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="stop when standard input closes (so a dead parent leaves no server behind)",
    )
    args = p.parse_args(argv)
    if args.cameras < 1 or args.width < 16 or args.height < 16 or args.fps < 1:
        p.error("--cameras, --width, --height and --fps must be positive")
    if args.clip is not None:
        if not os.path.isfile(args.clip):
            p.error(f"--clip {args.clip}: no such file")
        if args.codec != "h264" or args.audio != "none":
            p.error("--clip serves H.264 video only (no --codec h265, no --audio)")
        args.clip = os.path.abspath(args.clip)
    if args.pattern == "timecode" and (args.clip is not None or args.codec != "h264" or args.audio != "none"):
        p.error("--pattern timecode serves H.264 video only (no --clip, --codec h265 or --audio)")
    if args.user is None:
        args.password = None
    elif args.password is None:
        p.error("--user needs --password (or $RTSP_PASSWORD)")
    return args


def launch_line(args: argparse.Namespace, index: int) -> str:
    """Return the gst-launch description of camera number `index` (1-based)."""
    if args.clip is not None:
        return "( " + CLIP_PIPELINE.format(location=args.clip.replace('"', '\\"'), fps=args.fps) + " )"
    if args.pattern == "timecode":
        return "( " + timecode_pipeline(args) + " )"
    gop = 2 * args.fps
    kbps = args.bitrate or max(200, args.width * args.height * args.fps // 2300)
    colour = BALL_COLOURS[(index - 1) % len(BALL_COLOURS)]
    video = (
        f"videotestsrc is-live=true pattern=ball foreground-color={colour}"
        f" ! video/x-raw,width={args.width},height={args.height},framerate={args.fps}/1"
        f' ! clockoverlay text="cam{index}" time-format="%Y-%m-%d %H:%M:%S"'
        ' halignment=left valignment=top shaded-background=true font-desc="Sans 14"'
        " ! videoconvert ! " + VIDEO_ENCODERS[args.codec].format(gop=gop, kbps=kbps)
    )
    if args.audio == "none":
        return f"( {video} )"
    rate = 16000 if args.audio == "aac" else 8000
    audio = (
        f"audiotestsrc is-live=true wave=sine freq={220 * index} volume=0.2"
        f" ! audioconvert ! audioresample ! audio/x-raw,rate={rate},channels=1"
        f" ! {AUDIO_ENCODERS[args.audio]}"
    )
    return f"( {video} {audio} )"


def _stamp_pts(factory: object, media: object) -> None:
    """On a clip's media: copy each buffer's DTS into its unset PTS, at the `stamp` element."""
    from gi.repository import Gst

    def copy_dts(pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        buf = info.get_buffer()
        if buf is not None and buf.pts == Gst.CLOCK_TIME_NONE:
            buf.pts = buf.dts
        return Gst.PadProbeReturn.OK

    stamp = media.get_element().get_by_name("stamp")  # type: ignore[attr-defined]
    if stamp is None:
        log.error("clip pipeline has no 'stamp' element; timestamps stay unset")
        return
    stamp.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, copy_dts)


# --- the timecode pattern (bench/live_latency.py) ----------------------------------------------
# With --pattern timecode each frame shows the wall-clock time at which it was made, in milliseconds
# modulo 2**32, as TIMECODE_BITS square blocks (white = 1, black = 0, most significant bit first) in
# rows of TIMECODE_COLUMNS, starting TIMECODE_ORIGIN pixels from the top left corner. Python draws the
# frames and pushes them into an appsrc, so the time in the picture is when the frame entered the
# encoder; a program that grabs the displayed frame reads the code back and compares it with its
# clock to measure glass-to-glass latency on one machine.

TIMECODE_BITS = 32
TIMECODE_COLUMNS = 16
TIMECODE_BLOCK = 32  # pixels a side
TIMECODE_ORIGIN = 32
TIMECODE_ELEMENTS = ("appsrc", "x264enc", "rtph264pay")
LUMA_BLACK, LUMA_WHITE, CHROMA_GREY = 16, 235, 128


def timecode_pipeline(args: argparse.Namespace) -> str:
    """Return the gst-launch description of a timecode camera (a keyframe every second)."""
    kbps = args.bitrate or max(400, args.width * args.height * args.fps // 1500)
    return (
        "appsrc name=timecode is-live=true do-timestamp=true format=time"
        f' caps="video/x-raw,format=I420,width={args.width},height={args.height},framerate={args.fps}/1"'
        f" ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.fps} bitrate={kbps}"
        " ! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1"
    )


def timecode_frame(width: int, height: int, ms: int) -> bytes:
    """Return one I420 frame showing `ms` (modulo 2**32) as blocks."""
    rows = -(-TIMECODE_BITS // TIMECODE_COLUMNS)
    wide = TIMECODE_ORIGIN * 2 + TIMECODE_COLUMNS * TIMECODE_BLOCK
    if width < wide or height < TIMECODE_ORIGIN + rows * TIMECODE_BLOCK:
        raise ValueError("the frame is too small for the timecode")
    black = bytes([LUMA_BLACK]) * width
    luma = [black * TIMECODE_ORIGIN]
    for row in range(rows):
        line = bytearray(black)
        for column in range(TIMECODE_COLUMNS):
            bit = row * TIMECODE_COLUMNS + column
            if bit < TIMECODE_BITS and (ms >> (TIMECODE_BITS - 1 - bit)) & 1:
                start = TIMECODE_ORIGIN + column * TIMECODE_BLOCK
                line[start : start + TIMECODE_BLOCK] = bytes([LUMA_WHITE]) * TIMECODE_BLOCK
        luma.append(bytes(line) * TIMECODE_BLOCK)
    luma.append(black * (height - TIMECODE_ORIGIN - rows * TIMECODE_BLOCK))
    chroma = bytes([CHROMA_GREY]) * ((width // 2) * (height // 2) * 2)
    return b"".join(luma) + chroma


def _feed_timecode(factory: object, media: object, args: argparse.Namespace) -> None:
    """On a timecode camera's media: push a frame showing the current time every 1/fps seconds."""
    import time

    from gi.repository import Gst

    source = media.get_element().get_by_name("timecode")  # type: ignore[attr-defined]
    stopped = threading.Event()
    media.connect("unprepared", lambda *_: stopped.set())  # type: ignore[attr-defined]

    def feed() -> None:
        period = 1.0 / args.fps
        due = time.monotonic()
        while not stopped.is_set():
            ms = int(time.time() * 1000) & 0xFFFFFFFF
            frame = timecode_frame(args.width, args.height, ms)
            pushed = source.emit("push-buffer", Gst.Buffer.new_wrapped(frame))
            if pushed == Gst.FlowReturn.FLUSHING and stopped.wait(period):
                return
            due += period
            stopped.wait(max(0.0, due - time.monotonic()))

    threading.Thread(target=feed, daemon=True, name="timecode").start()


def _watch_stdin(quit_: Callable[[], None]) -> None:
    """Read standard input until EOF, then ask the main loop to quit."""
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except OSError:
        pass
    log.info("standard input closed; stopping")
    from gi.repository import GLib

    GLib.idle_add(quit_)


def main(argv: list[str] | None = None) -> int:
    """Run the server until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="rtsp_server %(levelname)s %(message)s")
    args = parse_args(argv)
    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, Gst, GstRtspServer
    except (ImportError, ValueError) as exc:
        log.error(
            "python3-gi or the GStreamer RTSP server is missing (%s); "
            "install python3-gi gir1.2-gst-rtsp-server-1.0 and run this with /usr/bin/python3",
            exc,
        )
        return EXIT_MISSING

    Gst.init(None)
    if args.clip is not None:
        needed: tuple[str, ...] = CLIP_ELEMENTS
    elif args.pattern == "timecode":
        needed = TIMECODE_ELEMENTS
    else:
        needed = ("videotestsrc", "clockoverlay", "videoconvert", *REQUIRED_ELEMENTS[args.codec])
    if args.audio != "none":
        needed += ("audiotestsrc", "audioconvert", "audioresample", *REQUIRED_ELEMENTS[args.audio])
    missing = [name for name in needed if Gst.ElementFactory.find(name) is None]
    if missing:
        log.error("GStreamer elements missing: %s (install gstreamer1.0-plugins-*)", ", ".join(missing))
        return EXIT_MISSING

    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()

    role = "viewer"
    if args.user is not None:
        # No default token: an anonymous client gets 401 + WWW-Authenticate: Basic, not 404.
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, role)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)

    for index in range(1, args.cameras + 1):
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(args, index))
        factory.set_shared(True)
        if args.clip is not None:
            factory.connect("media-configure", _stamp_pts)
        if args.pattern == "timecode":
            factory.connect("media-configure", _feed_timecode, args)
        if args.user is not None:
            perms = Gst.Structure.new_empty(role)
            perms.set_value(GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
            perms.set_value(GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
            factory.add_role_from_structure(perms)
        mounts.add_factory(f"/cam{index}", factory)

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        log.error("cannot listen on %s:%s", args.host, args.port)
        return EXIT_BIND

    def on_signal(signum: int) -> bool:
        log.info("signal %d; stopping", signum)
        loop.quit()
        return False

    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, on_signal, signum)
    if args.exit_on_stdin_eof:
        threading.Thread(target=_watch_stdin, args=(loop.quit,), daemon=True).start()

    port = server.get_bound_port()
    if args.clip is not None:
        log.info("serving %d camera(s) from clip %s at %d fps, auth=%s", args.cameras, args.clip, args.fps,
                 args.user is not None)  # fmt: skip
    else:
        log.info(
            "serving %d camera(s) %dx%d@%d %s audio=%s auth=%s",
            args.cameras,
            args.width,
            args.height,
            args.fps,
            args.codec,
            args.audio,
            args.user is not None,
        )
    print(f"READY rtsp://{args.host}:{port}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
