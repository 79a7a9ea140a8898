"""Why a network URL gives no video: OpenCV's `VideoCapture` says only that it did not open (FFmpeg's reason goes to
stderr, if its log level lets it, and never to Python), so the server is asked again here, by Python, for a reason a
user can act on: a host name not found, a connection refused (nothing listening) or not answered in time, an HTTP
status, or a server that answers but sends nothing OpenCV reads as video.

`probe(url, timeout_s)` returns that reason as a phrase, or None where no reason can be found this way (a scheme
that is not carried over TCP, such as udp:// or rtp://: nothing answers a datagram that finds no listener). The
whole probe, the host name's lookup included (`socket.getaddrinfo` takes no timeout: a slow name server held it for
its own 5-30 s), runs in a daemon thread that is waited for `timeout_s` at most. `probe(url, timeout_s,
connect=False)` looks the host name up only: the answer where the name server knows no such host (final: waiting
cannot make a mistyped name resolve), or where it does not answer in time. An HTTP(S) URL that FFmpeg or urllib
would send through a proxy (http_proxy, https_proxy, all_proxy; not to a host no_proxy names) is not looked up
here but asked of that proxy: a name only the proxy resolves was refused as not found.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

__all__ = ["FFMPEG_LOG_HINT", "HTTP_SCHEMES", "UrlAnswer", "probe"]

# asked with an HTTP request: the server can say why it refuses (a status); `sources.HTTP_PREFIXES` are made of it
HTTP_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322, "rtmp": 1935, "rtmps": 443}  # TCP, by scheme
TCP_SCHEMES = (*DEFAULT_PORTS, "tcp")  # FFmpeg's protocols over a TCP connection (tcp:// names its port)
# the lookup's answers that a name server knows no such host (not "try again": `socket.EAI_AGAIN`, the name server
# not reached): final, as waiting cannot make a mistyped name resolve (EAI_NODATA: the name has no address)
NAME_NOT_FOUND = frozenset(getattr(socket, code) for code in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, code))
HTTP_CLIENT_ERRORS = range(400, 500)  # statuses that a retry cannot change (404 Not Found, 403 Forbidden ...)
# but these, which ask the client to try again later (RFC 9110, 6585, 8470): a camera server busy, rate-limiting
HTTP_RETRY_LATER = frozenset({408, 425, 429})  # Request Timeout, Too Early, Too Many Requests
# a web page where a video was meant: waiting cannot make it one (a video or stream server sends video/*, an HLS or
# DASH playlist, multipart/x-mixed-replace MJPEG or octet-stream), so it is refused at once as a client error is
WEB_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
HTTP_UNAUTHORIZED = 401  # a login needed (or the one given refused): said with `LOGIN_HINT`
LOGIN_HINT = (
    " (a user name and password are needed: give them in the URL, SCHEME://USER:PASSWORD@HOST/..., or check them)"
)
USER_SEPARATOR = "@"  # a URL's `user:password@host`: what a request's URL leaves out (sent as a 401's answer)
# the proxies an HTTP(S) URL goes through, by scheme, first set first (`urllib.request.getproxies`: the *_proxy
# environment variables): urllib's own for the scheme, then FFmpeg's (http_proxy: its http and its https, tunnelled)
# and curl's all_proxy. A URL sent through one is looked up by the proxy, not here (no_proxy: not sent through one)
PROXIES_BY_SCHEME = {"http": ("http", "all"), "https": ("https", "http", "all")}
ANSWER_SHOWN_CHARS = 60  # of an answer that is not HTTP (`http.client.BadStatusLine`), this much is shown
FIRST_BYTE = {"Range": "bytes=0-0"}  # an HTTP request for the first byte only: the answer is what counts
# where OpenCV (FFmpeg) opened nothing from a server that answers: FFmpeg's own reason, which the CLI keeps quiet
FFMPEG_LOG_HINT = "OPENCV_FFMPEG_LOGLEVEL=16 in the environment shows FFmpeg's own error"


@dataclass(frozen=True)
class UrlAnswer:
    """What the server of a URL answered, as a phrase for users.

    Attributes:
        reason: e.g. "127.0.0.1 port 9 refused the connection (nothing is listening there)".
        final: True where waiting cannot change it (an HTTP client error: 404 Not Found, 403 ..., but not one that
            asks to try again later, `HTTP_RETRY_LATER`: 429 Too Many Requests ...; a web page, `WEB_PAGE_TYPES`).
    """

    reason: str
    final: bool = False


def probe(url: str, timeout_s: float, connect: bool = True) -> UrlAnswer | None:
    """Ask the server of `url` once, waiting at most `timeout_s` seconds in all, why it gives no video.

    HTTP(S) URLs get a GET of their first byte (the status, or the Content-Type of what the server sends); the
    other `TCP_SCHEMES` (RTSP, RTMP) get a TCP connection to their port. Its host name is looked up first, in a
    daemon thread waited for `timeout_s` at most (`socket.getaddrinfo` takes no timeout): a name server that does
    not answer in time is the answer ("the host name 'cam.example' did not resolve within 5 s"), as is a server
    that does not ("no answer from cam.example port 554 within 5 s"), and a name server that knows no such host
    (`NAME_NOT_FOUND`: a final answer). With `connect` False only the name is looked up. Never raises.

    Returns:
        The answer, or None for a URL without a host or port, of another scheme (udp://, rtp://, srt://), or one
        Python will not send (a space in its path); with `connect` False, None too where the name resolves.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number, a bad IPv6 literal: OpenCV was given it anyway
        return None
    host = parts.hostname
    if not host or port is None or scheme not in TCP_SCHEMES:
        return None
    resolved = threading.Event()
    said: list[UrlAnswer | Exception | None] = []  # (None: `_http_answer` knows no reason)

    def ask() -> None:
        try:
            said.append(_answer(url, scheme, (host, port), timeout_s, resolved, connect))
        except Exception as exc:  # (raised to the caller, as before the probe had a thread)
            said.append(exc)

    asking = threading.Thread(target=ask, name=f"url probe {host}", daemon=True)  # (one left waiting: ends with us)
    asking.start()
    asking.join(timeout_s)
    if said:
        if isinstance(said[0], Exception):
            raise said[0]
        return said[0]
    if not resolved.is_set():
        return UrlAnswer(
            f"the host name {host!r} did not resolve within {timeout_s:g} s (a slow or unreachable name server: "
            "check the address and the network)"
        )
    return UrlAnswer(_connection_failure(TimeoutError(), host, port, timeout_s))


def _answer(
    url: str, scheme: str, address: tuple[str, int], timeout_s: float, resolved: threading.Event, connect: bool
) -> UrlAnswer | None:
    """`probe`'s answer, asked in its thread: the host name looked up (then `resolved` is set), then the server
    (unless not `connect`). A name the name server knows not (`NAME_NOT_FOUND`) is a final answer. An HTTP(S) URL
    sent through a proxy (`_proxy`) is not looked up here: the proxy is asked for it."""
    host, port = address
    proxy = _proxy(scheme, host)
    if proxy is not None:  # (the proxy looks the name up: one only it can resolve is no reason here)
        resolved.set()
        return _http_answer(url, host, port, timeout_s, proxy) if connect else None
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return UrlAnswer(_connection_failure(exc, host, port, timeout_s), exc.errno in NAME_NOT_FOUND)
    except (OSError, ValueError) as exc:  # (a name IDNA cannot encode: UnicodeError)
        return UrlAnswer(_connection_failure(exc, host, port, timeout_s))
    resolved.set()
    if not connect:
        return None
    if scheme in HTTP_SCHEMES:
        return _http_answer(url, host, port, timeout_s)
    return _tcp_answer(host, port, timeout_s)


def _proxy(scheme: str, host: str) -> str | None:
    """The proxy (its URL) an HTTP(S) URL of `scheme` to `host` is sent through, as FFmpeg and urllib send it
    (`PROXIES_BY_SCHEME`, from the *_proxy environment variables), or None: another scheme (FFmpeg sends RTSP and
    RTMP directly), no proxy set, or `host` one that no_proxy names."""
    if scheme not in PROXIES_BY_SCHEME:
        return None
    proxies = urllib.request.getproxies()
    chosen = next((proxies[name] for name in PROXIES_BY_SCHEME[scheme] if proxies.get(name)), None)
    if chosen is None or urllib.request.proxy_bypass(host):
        return None
    return chosen


def _http_answer(url: str, host: str, port: int, timeout_s: float, proxy: str | None = None) -> UrlAnswer | None:
    """The status of a GET of the first byte of `url` (through `proxy`, its URL, where given: None, directly), or why
    there was none. An https server's certificate is not checked, as FFmpeg does not check it (its `tls_verify` is
    off by default): a camera's self-signed one, which OpenCV reads through, was named as the reason ("no TLS
    connection ... CERTIFICATE_VERIFY_FAILED"). Only the status and Content-Type are read from the answer. None
    where Python cannot send the request (`probe`)."""
    parts = urllib.parse.urlsplit(url)
    bare = parts._replace(netloc=parts.netloc.rpartition(USER_SEPARATOR)[2]).geturl()  # (no user:password@)
    if proxy is not None:  # (a failure to connect is the proxy's: named so)
        where = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")  # (host:port: an HTTP proxy)
        host, port = f"the proxy {where.hostname or proxy}", where.port or DEFAULT_PORTS.get(where.scheme, port)
    try:
        request = urllib.request.Request(bare, headers=FIRST_BYTE)
        with _opener(bare, parts.username, parts.password, proxy).open(request, timeout=timeout_s) as answer:
            kind = answer.headers.get_content_type() if answer.headers.get("Content-Type") else "no Content-Type"
            return UrlAnswer(
                f"the server answered HTTP {answer.status} ({kind}), but OpenCV (FFmpeg) read no video from it (not "
                f"a video, or one this OpenCV cannot read; {FFMPEG_LOG_HINT})",
                kind in WEB_PAGE_TYPES,
            )
    except urllib.error.HTTPError as exc:
        final = exc.code in HTTP_CLIENT_ERRORS and exc.code not in HTTP_RETRY_LATER
        login = LOGIN_HINT if exc.code == HTTP_UNAUTHORIZED else ""
        return UrlAnswer(f"the server answered HTTP {exc.code} {exc.reason}{login}", final)
    except urllib.error.URLError as exc:
        return UrlAnswer(_connection_failure(exc.reason, host, port, timeout_s))
    except (OSError, ValueError) as exc:  # a timeout while reading the answer; a malformed answer
        return UrlAnswer(_connection_failure(exc, host, port, timeout_s))
    except http.client.InvalidURL:  # (a URL Python's HTTP client will not send, e.g. with a space: no reason here)
        return None
    except http.client.HTTPException as exc:  # (an answer that is not HTTP: another protocol's server on that port)
        said = str(exc)[:ANSWER_SHOWN_CHARS]
        return UrlAnswer(
            f"{host} port {port} answered, but not in HTTP ({said!r}: another protocol's port? rtsp://...)"
        )


def _opener(
    url: str, user: str | None, password: str | None, proxy: str | None = None
) -> urllib.request.OpenerDirector:
    """An HTTP(S) client for `url` (given without its user name) that answers a 401 challenge, Basic or Digest, with
    `user` and `password` (percent-encoded, as in a URL; None: none given), as FFmpeg does with a URL's
    `user:password@`: urllib took them for part of the host name ("the host name ... was not found"); connects
    by TLS as FFmpeg does (`_as_ffmpeg_connects`), and through `proxy` (its URL; None: directly)."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    handlers: list[urllib.request.BaseHandler] = [
        urllib.request.HTTPSHandler(context=_as_ffmpeg_connects()),
        urllib.request.ProxyHandler({} if proxy is None else {scheme: proxy}),
    ]
    if user is not None:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, url, urllib.parse.unquote(user), urllib.parse.unquote(password or ""))
        handlers += [urllib.request.HTTPBasicAuthHandler(passwords), urllib.request.HTTPDigestAuthHandler(passwords)]
    return urllib.request.build_opener(*handlers)


def _as_ffmpeg_connects() -> ssl.SSLContext:
    """A TLS client context that, as FFmpeg's by default, checks neither the certificate nor the host name."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _tcp_answer(host: str, port: int, timeout_s: float) -> UrlAnswer:
    """Whether a TCP connection to `host`:`port` opens, and why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        return UrlAnswer(_connection_failure(exc, host, port, timeout_s))
    return UrlAnswer(
        f"{host} port {port} accepts connections, but OpenCV (FFmpeg) opened no video there (a wrong path, a user "
        f"name and password needed, or not a video server; {FFMPEG_LOG_HINT})"
    )


def _connection_failure(error: object, host: str, port: int, timeout_s: float) -> str:
    """`error` (an OSError, or a URLError's reason: an exception or a string) as a phrase naming host and port."""
    if isinstance(error, socket.gaierror) and error.errno in NAME_NOT_FOUND:
        return f"the host name {host!r} was not found by the name server (DNS)"
    if isinstance(error, socket.gaierror):  # the name server not reached, or failing (EAI_AGAIN, EAI_FAIL)
        return f"the host name {host!r} could not be looked up ({error.strerror or error}: the name server or network)"
    if isinstance(error, ConnectionRefusedError):
        return f"{host} port {port} refused the connection (nothing is listening there)"
    if isinstance(error, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
        return f"no answer from {host} port {port} within {timeout_s:g} s (a wrong address, the device off, a firewall)"
    if isinstance(error, ssl.SSLError):
        return f"no TLS connection to {host} port {port} ({error.reason or error})"
    if isinstance(error, OSError) and error.strerror:
        return f"{host} port {port}: {error.strerror.lower()}"
    return f"{host} port {port}: {error}"
