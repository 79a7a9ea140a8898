"""Network sources on a local HTTP server (127.0.0.1 only): a finite file ends at its last frame like a local one;
only a live stream is reopened, and nothing ever rewinds."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np
import pytest
from http_media import LiveServer, MediaServer
from media import write_video
from test_cli import blob_detector, one_error_line

import tracker.io.sources as sources
import tracker.io.url_probe as url_probe
import tracker.run as run
import tracker.run_summary as run_summary
from tracker.cli import main
from tracker.io.mot import read_mot_rows
from tracker.io.sources import SourceError, open_source
from tracker.pipeline import Tracker

FRAMES = 20
SIZE = (160, 120)
TIME_LIMIT_S = 20.0  # every test here is bounded: a replaying source would hit this
STREAM_RETRY_FLOOR_S = sources.STREAM_BACKOFF_S  # less than the first reopening of a stream waits


@contextlib.contextmanager
def serving(handler: Any, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """A local HTTP server of `handler` (HTTPS with `tls`) on a free port, answering in a daemon thread while the
    block runs: its port. Shut down and closed after the block, whatever it raised."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[bytes, list[np.ndarray]]:
    """A 20-frame mp4 (moov at the end, so a player needs byte ranges) and its decoded frames."""
    path = tmp_path_factory.mktemp("http") / "clip.mp4"
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, SIZE)
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write mp4v")
    for i in range(FRAMES):
        frame = np.full((SIZE[1], SIZE[0], 3), 40, np.uint8)
        cv2.rectangle(frame, (5 + 5 * i, 30), (35 + 5 * i, 90), (200, 200, 250), -1)
        frame[::7, ::5] = rng.integers(0, 255, frame[::7, ::5].shape)  # texture: frames of a few KB each
        writer.write(frame)
    writer.release()
    capture = cv2.VideoCapture(str(path))
    decoded = [capture.read()[1] for _ in range(FRAMES)]
    capture.release()
    return path.read_bytes(), decoded


def read_bounded(src, on_frame=None) -> tuple[list[int], list[np.ndarray]]:
    numbers, images, start = [], [], time.monotonic()
    for number, image in src:
        numbers.append(number)
        images.append(image)
        if on_frame is not None:
            on_frame(number)
        assert time.monotonic() - start < TIME_LIMIT_S, f"still reading after {numbers[-1]} frames: replaying?"
    return numbers, images


def test_finite_http_video_ends_at_its_last_frame(clip):
    data, decoded = clip
    with MediaServer(data) as server:
        src = open_source(f"{server.url}/videos/clip.mp4?token=abc")
        assert (src.kind, src.total, src.live, src.frame_rate, src.name) == ("video", FRAMES, False, 25.0, "clip")
        numbers, images = read_bounded(src)
    assert numbers == list(range(1, FRAMES + 1)), "once, in order, like the local file"
    for got, want in zip(images, decoded, strict=True):
        np.testing.assert_array_equal(got, want)
    assert any(r and r != "bytes=0-" for r in server.requests), "the client used byte ranges"


def test_track_command_on_an_http_video_ends_with_the_file(clip, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        run.Tracker,
        "from_config",
        staticmethod(lambda cfg, frame_rate=None, gallery=None: Tracker(cfg, frame_rate, detector=blob_detector)),
    )
    with MediaServer(clip[0]) as server:
        code = main([f"{server.url}/clip.mp4", "--out", str(tmp_path), "--no-save-video", "--set", "reid.model=none"])
    assert code == 0
    rows = read_mot_rows(tmp_path / "clip.txt")
    assert rows[:, 0].max() == FRAMES and len(np.unique(rows[:, 1])) == 1, "one walker, one ID, 20 frames"
    summary = capsys.readouterr().out
    assert f"tracked {FRAMES} frames" in summary and "an ID came back after occlusion 0 times" in summary


def test_server_dying_mid_file_ends_the_run_without_rewinding(clip, monkeypatch):
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    with MediaServer(clip[0], seconds_per_chunk=0.01) as server:
        src = open_source(f"{server.url}/clip.mp4")
        numbers: list[int] = []
        with pytest.raises(SourceError, match=r"connection lost after frame \d+ of 20"):
            read_bounded(src, lambda n: numbers.append(n) or (n == 3 and server.kill()))
    assert 3 <= len(numbers) < FRAMES and numbers == list(range(1, len(numbers) + 1))


def test_server_restarting_mid_file_resumes_where_it_stopped(clip, monkeypatch):
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.2)
    data, decoded = clip
    first = MediaServer(data, seconds_per_chunk=0.01).__enter__()
    port, restarted = first.server_address[1], []

    def kill_and_restart(number: int) -> None:
        if number == 3:
            first.kill()
            restarted.append(MediaServer(data, port=port).__enter__())

    try:
        numbers, images = read_bounded(open_source(f"{first.url}/clip.mp4"), kill_and_restart)
    finally:
        for server in [first, *restarted]:
            server.__exit__()
    assert numbers == list(range(1, FRAMES + 1)), "no frame twice, none lost, no rewind"
    exact = sum(np.array_equal(a, decoded[n - 1]) for n, a in zip(numbers, images, strict=True))
    assert exact >= FRAMES - 1, "frames after the reconnection are the file's next frames (one may be cut)"


def test_live_stream_reconnects_keeps_counting_and_records_the_gap(monkeypatch):
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.1)
    first = LiveServer().__enter__()
    port, servers = first.server_address[1], [first]

    def drop_at_10(number: int) -> None:
        if number == 10:
            first.kill()
            threading.Timer(0.3, lambda: servers.append(LiveServer(port=port).__enter__())).start()

    src = open_source(first.url)
    assert (src.kind, src.live, src.total) == ("stream", True, None)
    numbers: list[int] = []
    try:
        for number, _ in src:
            numbers.append(number)
            drop_at_10(number)
            if number == 25:
                break
    finally:
        time.sleep(0.35)  # let the timer start its server before closing everything
        for server in servers:
            server.__exit__()
    assert numbers == list(range(1, 26)), "frame numbers keep counting across the reconnection"
    assert len(src.gaps) == 1 and src.gaps[0][0] == 10 and src.gaps[0][1] >= 0.2


def test_summary_reports_stream_gaps():
    summary = run_summary.RunSummary(frames=25, seconds=1.0, gaps=[(10, 0.5)])
    assert "dropped 1 time and came back: no frames for 0.5 s after frame 10" in summary.describe()


def test_http_video_shorter_than_its_header_ends_like_a_truncated_file(monkeypatch, tmp_path):
    """An AVI cut in half on the server: its header announces 40 frames; the run gets the frames before the cut,
    says where it stopped, and ends at once (no error, no replay)."""
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8) for _ in range(40)]
    data = write_video(tmp_path / "clip.avi", frames, "MJPG").read_bytes()
    with MediaServer(data[: len(data) // 2]) as server:
        src = open_source(f"{server.url}/clip.avi")
        assert src.total == 40
        numbers, _ = read_bounded(src)
    assert 5 <= len(numbers) < 40 and numbers == list(range(1, len(numbers) + 1))
    assert src.ended_early == numbers[-1]


def test_http_video_with_no_readable_frame_is_an_error(clip, tmp_path, monkeypatch, capsys):
    """The mp4 (index at its end) on a server without byte ranges (Python's http.server): the header opens, no
    frame decodes. `track` must fail with one error line and exit status 2, not report success with no output."""
    import functools
    from http.server import SimpleHTTPRequestHandler

    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    monkeypatch.setattr(
        run.Tracker,
        "from_config",
        staticmethod(lambda cfg, frame_rate=None, gallery=None: Tracker(cfg, frame_rate, detector=blob_detector)),
    )
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "clip.mp4").write_bytes(clip[0])
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    handler.log_message = lambda *args: None
    with serving(handler) as port:
        url = f"http://127.0.0.1:{port}/clip.mp4"
        src = open_source(url)
        if src.live:
            pytest.skip("this FFmpeg does not read the length of an mp4 without byte ranges")
        frames = []
        try:
            frames = [n for n, _ in src]
        except SourceError as exc:
            assert "no frame" in str(exc) and "byte-range" in str(exc)
        if frames:
            pytest.skip("this FFmpeg reads an mp4 without byte ranges")
        code = main([url, "--out", str(tmp_path / "out"), "--no-save-video", "--set", "reid.model=none"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("track: error:") and "clip.mp4" in err[-1]


def test_an_http_url_the_server_answers_404_is_refused_at_once_naming_the_status(tmp_path, monkeypatch, capsys):
    """A mistyped URL on a working server (404) was taken for a live stream that did not open: the models loaded,
    then five reopenings over 15 s, then "stream ... did not open", never saying that the server had no such file."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    with serving(handler) as port:
        url = f"http://127.0.0.1:{port}/nope.mp4"
        start = time.monotonic()
        with pytest.raises(SourceError, match="HTTP 404"):
            open_source(url)
        assert time.monotonic() - start < STREAM_RETRY_FLOOR_S
        monkeypatch.setattr(Tracker, "from_config", lambda *a, **k: pytest.fail("models loaded for a 404"))
        assert main([url, "--out", str(tmp_path / "out"), "-q"]) == 2
    assert "HTTP 404" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def closed_port() -> int:
    """A 127.0.0.1 port that nothing listens on (bound, then closed again)."""
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_a_url_nothing_listens_on_fails_saying_the_connection_was_refused(scheme, tmp_path, monkeypatch, capsys):
    """`track rtsp://127.0.0.1:9/x` with nothing there ended with "stream ... did not open (5 retries with backoff)":
    what was tried, never why. The one error line now names the port that refused the connection."""
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    monkeypatch.setattr(
        run.Tracker,
        "from_config",
        staticmethod(lambda cfg, frame_rate=None, gallery=None: Tracker(cfg, frame_rate, detector=blob_detector)),
    )
    port = closed_port()
    url = f"{scheme}://127.0.0.1:{port}/x.mp4"
    with pytest.raises(SourceError) as info:
        list(open_source(url))
    expected = f"did not open (5 retries with backoff): 127.0.0.1 port {port} refused the connection"
    assert expected in str(info.value)
    assert main([url, "--out", str(tmp_path / "out"), "-q", "--set", "reid.model=none"]) == 2
    assert expected in one_error_line(capsys.readouterr().err)


def test_an_http_url_that_answers_with_no_video_says_what_the_server_sent(monkeypatch):
    """A web page where a video was meant: the server answers 200, OpenCV opens nothing; the error says so, with the
    Content-Type the server sent, rather than a bare "did not open"."""
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    page = MediaServer(b"<html><body>not a video</body></html>", content_type="text/html")
    with page as server, pytest.raises(SourceError) as info:
        list(open_source(f"{server.url}/clip.mp4"))
    assert "the server answered HTTP 206 (text/html), but OpenCV (FFmpeg) read no video from it" in str(info.value)


def test_an_http_url_that_answers_a_web_page_is_refused_at_once(tmp_path):
    """`track http://host/` (the page about the camera, not its stream): the server answers 200 text/html, and it
    was retried as a live stream that did not open, five reopenings over 15 s, before the error said what the server
    sent; waiting cannot make a web page a video, so it is refused at once, as a 404 is."""
    (tmp_path / "index.html").write_text("<html><body>the camera's page</body></html>")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    with serving(handler) as port:
        start = time.monotonic()
        with pytest.raises(SourceError, match=r"the server answered HTTP 200 \(text/html\), but OpenCV"):
            open_source(f"http://127.0.0.1:{port}/")
        assert time.monotonic() - start < STREAM_RETRY_FLOOR_S


def test_a_live_stream_whose_server_went_away_says_why_it_did_not_come_back(monkeypatch):
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    with LiveServer() as server:
        port = server.server_address[1]
        with pytest.raises(SourceError) as info:
            read_bounded(open_source(server.url), lambda n: n == 3 and server.kill())
    message = str(info.value)
    assert "dropped after" in message and f"127.0.0.1 port {port} refused the connection" in message, message


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (socket.gaierror(-2, "Name or service not known"), "the host name 'cam.example' was not found"),
        (TimeoutError("timed out"), "no answer from cam.example port 554 within 0.5 s"),
        (ConnectionRefusedError(111, "Connection refused"), "cam.example port 554 refused the connection"),
        (OSError(101, "Network is unreachable"), "cam.example port 554: network is unreachable"),
    ],
)
def test_the_probe_names_each_way_a_connection_fails(error, expected, monkeypatch):
    """Failures a test cannot make on 127.0.0.1 without a network (a name not found, no answer), told apart."""

    def fail(address, timeout):
        assert address == ("cam.example", 554) and timeout == 0.5, "RTSP's default port, the timeout given"
        raise error

    monkeypatch.setattr(url_probe.socket, "getaddrinfo", lambda *args, **kwargs: [])  # (its name is looked up)
    monkeypatch.setattr(url_probe.socket, "create_connection", fail)
    answer = url_probe.probe("rtsp://user:pw@cam.example/stream1", 0.5)
    assert answer is not None and answer.reason.startswith(expected) and not answer.final


@pytest.mark.parametrize("url", ["http://cam.example/video.mjpg", "rtsp://cam.example/stream1"])
def test_the_probe_returns_within_its_timeout_while_the_name_server_does_not_answer(url, monkeypatch):
    """`socket.getaddrinfo` takes no timeout: a name server that did not answer held the probe (and the open of a
    URL that failed) for as long as the resolver waited, 5-30 s, past its 5 s, then said "was not found". Now the
    probe answers within its timeout, saying the name did not resolve in it."""
    answered = threading.Event()

    def slow_name_server(*args, **kwargs):
        answered.wait(10)
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(url_probe.socket, "getaddrinfo", slow_name_server)
    start = time.monotonic()
    try:
        answer = url_probe.probe(url, 0.3)
        waited = time.monotonic() - start
    finally:
        answered.set()
    assert waited < 1.0, f"the probe waited {waited:.1f} s of its 0.3"
    assert answer is not None and not answer.final
    assert answer.reason.startswith("the host name 'cam.example' did not resolve within 0.3 s"), answer.reason


def no_such_host(*args, **kwargs):
    """`socket.getaddrinfo` as a name server answers a name it does not know (NXDOMAIN)."""
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize("scheme", ["http", "rtsp"])
def test_a_url_whose_host_does_not_exist_fails_at_once_naming_it(scheme, tmp_path, monkeypatch, capsys):
    """`track http://nonexistent.invalid/x.mp4` took ~25 s to fail: the models loaded, then five reopenings over
    15.5 s as for a live stream that dropped, before the error said the host name was not found. A name the name
    server does not know cannot come to resolve by waiting: it fails at once, before any model loads, naming the URL
    and the DNS failure. (A `.invalid` host never resolves, RFC 6761, so OpenCV opens nothing; Python's lookup is
    made the name server's answer, as a machine without a network may answer otherwise.)"""
    monkeypatch.setattr(url_probe.socket, "getaddrinfo", no_such_host)
    url = f"{scheme}://nonexistent.invalid/x.mp4"
    start = time.monotonic()
    with pytest.raises(SourceError) as info:
        open_source(url)
    assert time.monotonic() - start < STREAM_RETRY_FLOOR_S, "no reopening waited for"
    expected = f"{url}: the host name 'nonexistent.invalid' was not found by the name server (DNS)"
    assert str(info.value).startswith(expected), str(info.value)
    monkeypatch.setattr(Tracker, "from_config", lambda *a, **k: pytest.fail("models loaded for an unknown host"))
    assert main([url, "--out", str(tmp_path / "out"), "-q"]) == 2
    assert one_error_line(capsys.readouterr().err).startswith(f"track: error: {expected}")


def test_a_name_server_that_is_not_reached_is_retried_as_a_stream_that_may_come_up(monkeypatch):
    """A lookup that failed for want of a name server ("Temporary failure in name resolution": a camera's network
    still coming up at boot) is not final: the URL is reopened with backoff as before, and the error at the end says
    the name could not be looked up."""

    def no_name_server(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    monkeypatch.setattr(url_probe.socket, "getaddrinfo", no_name_server)
    opened: list[object] = []
    reopen = sources._open_capture
    monkeypatch.setattr(sources, "_open_capture", lambda target: opened.append(target) or reopen(target))
    src = open_source("rtsp://cam.invalid/stream1")
    with pytest.raises(SourceError) as info:
        list(src)
    assert len(opened) > sources.STREAM_RETRIES, "opened, then reopened with backoff"
    expected = "did not open (5 retries with backoff): the host name 'cam.invalid' could not be looked up"
    assert expected in str(info.value), str(info.value)


def test_a_stream_that_opened_is_reopened_with_backoff_though_its_name_is_no_longer_found(monkeypatch):
    """Failing at once on a name not found is for a URL that never opened: a live stream that dropped is reopened
    `STREAM_RETRIES` times whatever the name server says meanwhile (a DNS outage during a run)."""
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    reopened: list[object] = []
    reopen = sources._open_capture
    monkeypatch.setattr(sources, "_open_capture", lambda target: reopened.append(target) or reopen(target))
    with LiveServer() as server:

        def drop_at_3(number: int) -> None:
            if number == 3:
                server.kill()
                monkeypatch.setattr(url_probe.socket, "getaddrinfo", no_such_host)

        with pytest.raises(SourceError) as info:
            read_bounded(open_source(server.url), drop_at_3)
    assert len(reopened) == 1 + sources.STREAM_RETRIES, "opened, then every reopening of the budget"
    message = str(info.value)
    assert "dropped after 3 frames" in message and "was not found by the name server (DNS)" in message, message


def test_the_probe_asks_nothing_of_a_scheme_without_a_connection(monkeypatch):
    monkeypatch.setattr(url_probe.socket, "create_connection", lambda *a, **k: pytest.fail("a UDP URL was connected"))
    assert url_probe.probe("udp://127.0.0.1:1234", 0.5) is None
    assert url_probe.probe("rtsp:///no-host", 0.5) is None


@pytest.mark.parametrize(("status", "final"), [(429, False), (408, False), (404, True), (403, True)])
def test_an_http_status_that_asks_to_try_again_later_is_not_final(status, final):
    """A camera server busy or rate-limiting (429 Too Many Requests, 408 Request Timeout) asks the client to try
    again later: it was refused at once as a 404 is, never retried as a stream that may come up; 404 and 403 stay
    final."""

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(status)

        def log_message(self, *args: object) -> None:  # (quiet)
            pass

    with serving(Answer) as port:
        answer = url_probe.probe(f"http://127.0.0.1:{port}/live", 5.0)
    assert answer is not None and answer.reason.startswith(f"the server answered HTTP {status}")
    assert answer.final is final


def test_an_https_camera_with_a_self_signed_certificate_is_answered_as_ffmpeg_reads_it(tmp_path):
    """FFmpeg does not check a server's certificate (its tls_verify is off): OpenCV reads an https camera with a
    self-signed one. The probe checked it, and said "no TLS connection ... (CERTIFICATE_VERIFY_FAILED)" of a server
    FFmpeg had just read a web page from, so the page was not refused at once either; it now says what the server
    answered."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days",
         "1", "-subj", "/CN=camera.local"],
        check=True, capture_output=True,
    )  # fmt: skip
    (tmp_path / "index.html").write_text("<html><body>the camera's page</body></html>")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with serving(functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path)), tls) as port:
        answer = url_probe.probe(f"https://127.0.0.1:{port}/", 5.0)
    assert answer is not None and answer.reason.startswith("the server answered HTTP 200 (text/html)"), answer
    assert answer.final


def test_the_probe_never_raises_for_a_server_that_does_not_speak_http_or_a_url_python_will_not_send():
    """`probe` says it never raises, but an answer that is not HTTP (an RTSP server on the port of an http:// URL)
    raised http.client.BadStatusLine out of it, and a URL with a space http.client.InvalidURL: a traceback where the
    error should say why the source gives no video."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer_in_rtsp() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # (closed: the test is over)
                return
            with connection:
                connection.recv(4096)
                connection.sendall(b"RTSP/1.0 400 Bad Request\r\n\r\n")

    threading.Thread(target=answer_in_rtsp, daemon=True).start()
    port = listener.getsockname()[1]
    try:
        answer = url_probe.probe(f"http://127.0.0.1:{port}/cam.mp4", 5.0)
        spaced = url_probe.probe(f"http://127.0.0.1:{port}/my cam.mp4", 5.0)
    finally:
        listener.close()
    assert answer is not None and answer.reason.startswith(f"127.0.0.1 port {port} answered, but not in HTTP")
    assert "RTSP/1.0 400" in answer.reason and not answer.final
    assert spaced is None


@pytest.mark.parametrize(("password", "expected"), [("s%40cret", "HTTP 200 (text/html)"), ("wrong", "HTTP 401")])
def test_a_camera_url_with_a_user_and_password_is_asked_with_them(password, expected):
    """`http://admin:pw@camera/...`, as IP cameras are given: the probe took `admin:pw@camera` for the host name and
    said "the host name ... was not found" of a camera that answers. It now answers the server's challenge with
    them (percent-decoded, as FFmpeg does), and a wrong password is the server's 401."""
    import base64

    class Camera(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") != "Basic " + base64.b64encode(b"admin:s@cret").decode():
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="camera"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "1")
            self.end_headers()
            self.wfile.write(b"<")

        def log_message(self, *args: object) -> None:  # (quiet)
            pass

    with serving(Camera) as port:
        answer = url_probe.probe(f"http://admin:{password}@127.0.0.1:{port}/live", 5.0)
    assert answer is not None and answer.reason.startswith(f"the server answered {expected}"), answer
    assert ("USER:PASSWORD@HOST" in answer.reason) is (expected == "HTTP 401"), "a 401 says how to log in"


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_a_camera_url_password_is_never_shown_or_written(scheme, clip, tmp_path, monkeypatch, capsys, caplog):
    """`track rtsp://admin:secret@127.0.0.1:9/x` printed "stream rtsp://admin:secret@... did not open", and a URL
    with no path named its outputs after `admin:secret@host`: the password on screen, in logs and in file names.
    Now each shows `admin:***@`, while the real URL (login included) is still what is opened."""
    caplog.set_level(logging.INFO, logger="tracker")
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    monkeypatch.setattr(
        run.Tracker,
        "from_config",
        staticmethod(lambda cfg, frame_rate=None, gallery=None: Tracker(cfg, frame_rate, detector=blob_detector)),
    )
    dead = f"{scheme}://admin:secret@127.0.0.1:{closed_port()}/x"
    assert main([dead, "--out", str(tmp_path / "dead"), "-q", "--set", "reid.model=none"]) == 2
    said = capsys.readouterr().err
    assert "admin:***@127.0.0.1" in one_error_line(said)
    assert main([dead, "--resume", "--out", str(tmp_path / "dead"), "--set", "reid.model=none"]) == 2
    said += capsys.readouterr().err
    with MediaServer(clip[0]) as server:  # (no path: the outputs are named after the host)
        live = server.url.replace("http://", "http://admin:secret@")
        code = main([live, "--out", str(tmp_path / "out"), "--no-save-video", "--set", "reid.model=none"])
    said += "".join(capsys.readouterr())
    assert code == 0 and len(list((tmp_path / "out").glob("*.txt"))) == 1, "the video behind the login was tracked"
    assert "secret" not in said and "secret" not in caplog.text
    for path in tmp_path.rglob("*"):
        assert "secret" not in path.name, path
        assert path.is_dir() or b"secret" not in path.read_bytes(), path


def test_a_batch_writes_no_camera_password_and_reuses_its_videos_on_a_re_run(clip, tmp_path, capsys, caplog):
    """`track batch http://admin:secret@cam/...` wrote the URL as given into each video's `batch.json`, named the
    folder of a URL with no path `admin_secret_...` and showed it beside a folder's name: the camera's password on
    disk in plain text. Now the batch records and shows `admin:***@`, and a re-run of the same batch finds each
    folder by that and reuses it; a folder of a batch before (its note holds the URL as given) is found too."""
    from test_batch import fake_tracker

    from tracker.batch import track_many
    from tracker.batch_work import NOTE_NAME
    from tracker.config import TrackerConfig

    caplog.set_level(logging.INFO, logger="tracker")
    out = tmp_path / "out"
    with MediaServer(clip[0], login="admin:secret") as server:  # (401 without the login: it is used to open them)
        camera = server.url.replace("http://", "http://admin:secret@")
        sources = [f"{camera}/cams/door.mp4", camera, f"{camera}/other/door.mp4"]  # (no path; a second `door`)

        def batch():
            return track_many(sources, TrackerConfig(), out, workers=2, make_tracker=fake_tracker)

        first, again = batch(), batch()
        said = "".join(capsys.readouterr()) + first.describe() + again.describe() + caplog.text
        assert [(v.status, v.frames) for v in first.videos] == [("done", FRAMES)] * 3, first.describe()
        assert [v.status for v in again.videos] == ["reused"] * 3, again.describe()
        assert [v.name for v in again.videos] == [v.name for v in first.videos]
        assert "admin:***@127.0.0.1" in said, "the labels still tell which camera a folder is"
        assert "secret" not in said
        for path in tmp_path.rglob("*"):
            assert "secret" not in path.name, path
            assert path.is_dir() or b"secret" not in path.read_bytes(), path
        note = out / first.videos[0].name / NOTE_NAME  # as a batch of the version before wrote it
        before = json.loads(note.read_text()) | {"source": sources[0], "path": sources[0]}
        note.write_text(json.dumps(before))
        upgraded = batch()
    assert [(v.status, v.name) for v in upgraded.videos] == [("reused", v.name) for v in first.videos]


def test_a_batch_video_whose_stream_never_opens_fails_saying_why(tmp_path, monkeypatch):
    """`track batch http://admin:secret@127.0.0.1:9/cam.mp4` failed its video with "cannot write
    .../.cam.partial/batch.json: No such file or directory": no frame was read, so no output made the folder its note
    is written to, and that error took the place of the stream's ("did not open ...: refused the connection", what
    `track` says). The video now fails with the stream's own reason, its password hidden, and leaves no folder."""
    from test_batch import fake_tracker

    from tracker.batch_task import run_video
    from tracker.batch_work import make_tasks
    from tracker.config import TrackerConfig

    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    port = closed_port()
    out = tmp_path / "out"
    url = f"http://admin:secret@127.0.0.1:{port}/cam.mp4"
    (task,) = make_tasks([url], TrackerConfig(), out, False, None, fake_tracker, None, None)
    result = run_video(task)
    assert result.status == "failed"
    assert f"127.0.0.1 port {port} refused the connection" in result.reason, result.reason
    assert "admin:***@" in result.reason and "secret" not in result.reason, result.reason
    assert not out.exists() or not any(out.iterdir()), "no folder for a video of no frames"


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.mark.parametrize(
    ("url", "variable"),
    [("http://cam.intranet/live", "http_proxy"), ("https://cam.intranet/live", "http_proxy")]
    + [("https://cam.intranet/live", "https_proxy"), ("http://cam.intranet/live", "all_proxy")],
)
def test_a_url_sent_through_a_proxy_is_not_refused_for_a_name_only_the_proxy_resolves(url, variable, monkeypatch):
    """Behind a proxy (http_proxy, which FFmpeg honours for http and https; https_proxy; all_proxy) the machine's own
    name server may know no camera host that the proxy reaches: the probe looked the name up here first and refused
    the URL at once as "not found by the name server (DNS)". Such a URL is asked of the proxy instead; with the host
    in no_proxy (sent directly) a name not found is still final."""
    real = socket.getaddrinfo

    def intranet_only_by_proxy(host, *args, **kwargs):
        return no_such_host() if host == "cam.intranet" else real(host, *args, **kwargs)

    asked: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # (a proxy is sent the whole URL)
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.end_headers()
            self.wfile.write(b"\0")

        def log_message(self, *args: object) -> None:  # (quiet)
            pass

    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setattr(url_probe.socket, "getaddrinfo", intranet_only_by_proxy)
    with serving(Proxy) as port:
        monkeypatch.setenv(variable, f"http://127.0.0.1:{port}")
        assert url_probe.probe(url, 5.0, connect=False) is None  # (the name check before a stream's reopenings)
        if url.startswith("http:"):  # (https goes through a CONNECT tunnel, which this proxy does not serve)
            answer = url_probe.probe(url, 5.0)
            assert answer is not None and not answer.final, answer
            assert answer.reason.startswith("the server answered HTTP 200 (video/mp4)"), answer.reason
            assert asked == [url], asked
        monkeypatch.setenv("no_proxy", "cam.intranet")
        answer = url_probe.probe(url, 5.0, connect=False)
    assert answer is not None and answer.final, answer
    assert answer.reason == "the host name 'cam.intranet' was not found by the name server (DNS)", answer.reason


def test_a_proxy_that_does_not_answer_is_named_as_the_one_refusing(monkeypatch):
    """Through a proxy, a refused connection is the proxy's: it is named, with its port, not the camera's."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    port = closed_port()
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
    answer = url_probe.probe("http://cam.intranet/live", 5.0)
    assert answer is not None and not answer.final, answer
    assert answer.reason == f"the proxy 127.0.0.1 port {port} refused the connection (nothing is listening there)"
