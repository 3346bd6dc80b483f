"""The HTTP side of the API: XML-RPC at ``/RPC2`` on a multi-threaded, keep-alive server.

waitress serves the WSGI app below: several clients at once (``api.threads``), HTTP/1.1
keep-alive, and a body size limit (``api.max_request_bytes``) enforced before parsing.
"""

from __future__ import annotations

import logging
import threading
import xmlrpc.client
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from ..config import ApiConfig
from .views import Document

log = logging.getLogger(__name__)
logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" on every busy moment

Dispatch = Callable[[str, tuple[Any, ...]], list[Any]]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class RPCApp:
    """A WSGI application answering OpenNebula's XML-RPC calls."""

    def __init__(self, dispatch: Dispatch, max_body: int) -> None:
        self.dispatch = dispatch
        self.max_body = max_body

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/RPC2":
            return _plain(start_response, "404 Not Found", "Not found: the API is at /RPC2\n")
        if environ.get("REQUEST_METHOD") != "POST":
            return _plain(start_response, "405 Method Not Allowed", "POST is the only HTTP method this server understands\n",
                          [("Allow", "POST")])
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > self.max_body:
            return _plain(start_response, "413 Request Entity Too Large", f"The request body is limited to {self.max_body} bytes\n")
        body = environ["wsgi.input"].read(length)
        try:
            params, method = xmlrpc.client.loads(body, use_builtin_types=True)
            if not isinstance(method, str):
                raise TypeError("no method name")
        except Exception:  # noqa: BLE001 - any unparsable body is the same fault
            reply = xmlrpc.client.dumps(xmlrpc.client.Fault(-503, "Call XML not a proper XML-RPC call"), methodresponse=True)
        else:
            try:
                result = self.dispatch(method, params)
            except xmlrpc.client.Fault as fault:
                reply = xmlrpc.client.dumps(fault, methodresponse=True)
            else:
                if isinstance(result[1], Document):
                    start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8")])
                    return _streamed(result[1])
                reply = xmlrpc.client.dumps((result,), methodresponse=True)
        data = reply.encode("utf-8", "xmlcharrefreplace")
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(data)))])
        return [data]


STREAM_HEAD = (b"<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n"
               b"<value><boolean>1</boolean></value>\n<value><string>")
STREAM_TAIL = (b"</string></value>\n<value><int>0</int></value>\n</data></array></value>\n</param>\n</params>\n"
               b"</methodResponse>\n")
CHUNK = 256 * 1024


def _streamed(document: Document) -> Iterator[bytes]:
    """``[true, document, 0]`` as XML-RPC, sent in chunks while it is written (its pieces come escaped)."""
    yield STREAM_HEAD
    pending: list[str] = []
    size = 0
    for piece in document:
        pending.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield "".join(pending).encode("utf-8", "xmlcharrefreplace")
            pending, size = [], 0
    yield "".join(pending).encode("utf-8", "xmlcharrefreplace")
    yield STREAM_TAIL


def _plain(start_response: StartResponse, status: str, text: str, extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    data = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))] + (extra or []))
    return [data]


class APIServer:
    """waitress in a background thread; ``port`` is the one actually bound (0 picks a free one)."""

    def __init__(self, app: RPCApp, config: ApiConfig) -> None:
        self._map: dict[int, Any] = {}  # waitress's socket map: closing it all ends the loop
        # Idle connections are closed after idle_timeout, so that clients that open connections and
        # send nothing hold a slot for seconds, not minutes.
        self._server = create_server(
            app, map=self._map, host=config.host, port=config.port, threads=config.threads,
            max_request_body_size=app.max_body, channel_timeout=config.idle_timeout, connection_limit=config.max_connections,
            ident="Nebula", clear_untrusted_proxy_headers=True,
        )
        self.port: int = self._server.effective_port
        self.host = config.host
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="api", daemon=True)

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError:
            if not self._closing:  # closing the sockets under the loop ends it this way
                raise

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/RPC2"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._closing = True
        wasyncore.close_all(self._map)
        self._server.task_dispatcher.shutdown()
        self._thread.join(timeout=5)
