"""A TCP proxy on 127.0.0.1 that misbehaves on demand: the reusable part of the fault suite.

Put it between the app and anything it talks to (PostgreSQL, the Stripe stand-in) and switch its
mode while traffic flows:

- "pass": bytes flow both ways.
- "refuse": open connections are reset and new ones refused (nothing listens on the port).
- "blackhole": open connections go silent both ways and new ones are accepted but never answered,
  as when packets vanish (bytes are held, and flow again once the mode is "pass").
- "slow": every answer (the first bytes back after the client spoke) waits `delay` seconds.

Threads, not asyncio, so a scenario can drive it from plain code; two threads per connection.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time

MODES = ("pass", "refuse", "blackhole", "slow")
_POLL = 0.05


class FaultProxy:
    def __init__(self, upstream: tuple[str, int], name: str = "proxy") -> None:
        self.upstream, self.name = upstream, name
        self.mode, self.delay = "pass", 0.0
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listen()

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def set(self, mode: str, delay: float = 0.0) -> None:
        """Switch the mode; "refuse" resets every open connection and stops listening."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        with self._lock:
            previous, self.mode, self.delay = self.mode, mode, delay
        if mode == "refuse":
            self._close_listener()
            self._reset_all()
        elif previous == "refuse":
            self._listen()

    def close(self) -> None:
        self._stopped.set()
        self._close_listener()
        self._reset_all()

    # -- listening ---------------------------------------------------------------------------

    def _listen(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(256)
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True, name=f"{self.name}-accept").start()

    def _close_listener(self) -> None:
        sock, self._listener = self._listener, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: refuse mode or the end
            threading.Thread(target=self._open, args=(client,), daemon=True, name=f"{self.name}-conn").start()

    def _open(self, client: socket.socket) -> None:
        self._track(client)
        while self.mode == "blackhole" and not self._stopped.is_set():
            time.sleep(_POLL)  # accepted, never answered, until the hole closes
        if self.mode == "refuse" or self._stopped.is_set():
            self._reset(client)
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            self._reset(client)
            return
        upstream.settimeout(None)
        self._track(upstream)
        turn = threading.Event()  # set when the client has spoken and waits for an answer
        threading.Thread(target=self._pump, args=(client, upstream, turn, False), daemon=True).start()
        self._pump(upstream, client, turn, True)

    # -- moving bytes ------------------------------------------------------------------------

    def _pump(self, src: socket.socket, dst: socket.socket, turn: threading.Event, answering: bool) -> None:
        polite = False
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    polite = True  # the peer hung up: pass the hang-up on
                    break
                while self.mode == "blackhole" and not self._stopped.is_set():
                    time.sleep(_POLL)  # held, as a black hole holds it
                if self.mode == "refuse" or self._stopped.is_set():
                    break
                if answering:
                    if self.mode == "slow" and turn.is_set():
                        time.sleep(self.delay)
                    turn.clear()
                else:
                    turn.set()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                self._close(sock) if polite else self._reset(sock)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._conns.add(sock)

    def _reset_all(self) -> None:
        with self._lock:
            conns = list(self._conns)
        for sock in conns:
            self._reset(sock)

    def _reset(self, sock: socket.socket) -> None:
        """Close with an RST (linger 0), as a refusing host does, rather than a polite FIN."""
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._conns.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
