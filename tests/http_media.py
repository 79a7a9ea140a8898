"""A local HTTP server for network-source tests: 127.0.0.1 only, byte ranges, throttled, and killable mid-file."""

from __future__ import annotations

import re
import socket
import threading
import time
from base64 import b64encode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 4096  # bytes written per step
RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class _KillableServer(ThreadingHTTPServer):
    """A 127.0.0.1 server run in a background thread by `with`; `kill()` cuts open transfers and refuses new ones."""

    daemon_threads = True
    path = ""  # appended to the server's address in `url`

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self.dead = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{self.path}"

    def __enter__(self):
        self._thread.start()
        return self

    def kill(self) -> None:
        """The server dies: transfers in progress stop mid-file, new connections are refused."""
        self.dead.set()
        self.shutdown()
        self.server_close()

    def __exit__(self, *exc: object) -> None:
        if not self.dead.is_set():
            self.kill()


class MediaServer(_KillableServer):
    """Serves `data` at any path with `Range` support; `kill()` cuts open transfers and refuses new ones.

    `seconds_per_chunk` throttles transfers so a client cannot have the whole file buffered before a kill;
    `cut_once_at` (a byte offset) cuts the first transfer that reaches it, once (a dropped connection); `login`
    ("user:password") answers 401 to a request without that HTTP Basic login, as a camera does.
    """

    def __init__(
        self,
        data: bytes,
        content_type: str = "video/mp4",
        seconds_per_chunk: float = 0.0,
        cut_once_at: int | None = None,
        port: int = 0,
        login: str | None = None,
    ) -> None:
        super().__init__(_Handler, port)
        self.data = data
        self.content_type = content_type
        self.seconds_per_chunk = seconds_per_chunk
        self.cut_once_at = cut_once_at
        self.login = login
        self.refused = 0  # requests answered 401 (no login, or a wrong one)
        self.requests: list[str | None] = []


class _Handler(BaseHTTPRequestHandler):
    server: MediaServer

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        self._respond(body=False)

    def do_GET(self) -> None:
        self._respond(body=True)

    def _respond(self, body: bool) -> None:
        login = self.server.login
        if login is not None and self.headers.get("Authorization") != "Basic " + b64encode(login.encode()).decode():
            self.server.refused += 1
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="camera"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data, header = self.server.data, self.headers.get("Range")
        self.server.requests.append(header)
        start, end = 0, len(data) - 1
        match = RANGE.fullmatch(header.strip()) if header else None
        if match and (match.group(1) or match.group(2)):
            if match.group(1):
                start = int(match.group(1))
                end = int(match.group(2)) if match.group(2) else end
            else:
                start = max(0, len(data) - int(match.group(2)))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            end = min(end, len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", self.server.content_type)
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        if not body:
            return
        try:
            for offset in range(start, end + 1, CHUNK):
                cut = self.server.cut_once_at
                if cut is not None and offset <= cut < offset + CHUNK:
                    self.server.cut_once_at = None
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if self.server.dead.is_set():
                    self.connection.shutdown(socket.SHUT_RDWR)  # cut mid-transfer, as a crashed server does
                    return
                self.wfile.write(data[offset : min(offset + CHUNK, end + 1)])
                if self.server.seconds_per_chunk:
                    time.sleep(self.server.seconds_per_chunk)
        except (BrokenPipeError, ConnectionResetError, OSError):
            return


class LiveServer(_KillableServer):
    """A live MJPEG camera (multipart/x-mixed-replace) that never ends; `kill()` cuts it, `port` reuses one."""

    path = "/live.mjpg"

    def __init__(self, frame_interval_s: float = 0.02, port: int = 0) -> None:
        super().__init__(_LiveHandler, port)
        self.frame_interval_s = frame_interval_s


class _LiveHandler(BaseHTTPRequestHandler):
    server: LiveServer
    boundary = b"frame"

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        import cv2
        import numpy as np

        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={self.boundary.decode()}")
        self.end_headers()
        count = 0
        try:
            while not self.server.dead.is_set():
                image = np.full((120, 160, 3), 30, np.uint8)
                cv2.rectangle(image, (10 + count % 100, 30), (40 + count % 100, 90), (230, 230, 230), -1)
                jpeg = cv2.imencode(".jpg", image)[1].tobytes()
                head = b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % (self.boundary, len(jpeg))
                self.wfile.write(head + jpeg + b"\r\n")
                count += 1
                time.sleep(self.server.frame_interval_s)
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            return
