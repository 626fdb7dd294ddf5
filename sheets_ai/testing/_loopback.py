"""The lifecycle every emulator shares: serve on a loopback port in a daemon thread, start/stop, ``with``.

An emulator subclasses :class:`LoopbackServer`, sets ``host``, ``port``, ``_server = None`` and
``_thread = None`` in its ``__init__``, and makes its HTTP server in :meth:`LoopbackServer._new_server` (the
server's ``emulator`` attribute is set to the emulator, for the handler to reach it).
"""

from __future__ import annotations

import logging
import threading
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class LoopbackServer:
    host: str
    port: int
    _server: Any
    _thread: threading.Thread | None
    #: The serving thread's name, and how the log line at start names the emulator.
    thread_name = "emulator"
    label = "Emulator"

    def _new_server(self) -> ThreadingHTTPServer:  # pragma: no cover - every emulator defines it
        raise NotImplementedError

    def start(self) -> Self:
        if self._server is not None:
            return self
        server = self._new_server()
        server.emulator = self  # type: ignore[attr-defined]
        self.port = int(server.server_address[1])
        self._server = server
        # A short poll interval: stop() returns within ~50 ms instead of up to 0.5 s (the stdlib default).
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        logging.getLogger(type(self).__module__).info("%s listening on %s", self.label, self.url)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"
