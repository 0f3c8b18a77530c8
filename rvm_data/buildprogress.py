"""A build's progress bar, moved per sample even when the samples are rendered in other processes.

Workers of a local build send one datagram per sample written to an abstract Unix socket the build
process listens on (Linux; no file is created, so nothing is left behind when either side is
killed). A datagram is fire-and-forget: a worker never waits for the bar, and a lost tick only
delays the bar until its shard completes, when the bar is set to the shard's true count. Where the
socket cannot be made (another platform, a dask cluster on other machines) the bar moves per shard.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

Tick = Callable[[], None]


class SampleBar:
    """A tqdm bar over a build's samples: :meth:`ticker` per job, :meth:`shard_done` per shard."""

    def __init__(self, bar: tqdm[Any], *, listen: bool) -> None:
        self._bar = bar
        self._lock = threading.Lock()
        self._ticked: dict[str, int] = {}
        self._done: set[str] = set()
        self.address: bytes | None = None
        self._socket: socket.socket | None = None
        self._listener: threading.Thread | None = None
        if listen and not bar.disable and hasattr(socket, "AF_UNIX"):
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                address = f"\0rvm-data-build-{os.getpid()}-{secrets.token_hex(8)}".encode()
                sock.bind(address)
            except OSError:  # no abstract namespace (not Linux)
                return
            self._socket, self.address = sock, address
            self._listener = threading.Thread(target=self._receive, name="rvm-data-build-bar", daemon=True)
            self._listener.start()

    def tick(self, shard: str) -> None:
        """One sample of ``shard`` written (ignored once the shard has been counted whole)."""
        with self._lock:
            if shard not in self._done:
                self._ticked[shard] = self._ticked.get(shard, 0) + 1
                self._bar.update(1)

    def shard_done(self, shard: str, samples: int) -> None:
        """``shard`` is complete with ``samples``: the bar gets whatever its ticks did not bring."""
        with self._lock:
            self._done.add(shard)
            self._bar.update(samples - self._ticked.pop(shard, 0))

    def close(self) -> None:
        """Stop listening (an empty datagram wakes the listener, which then ends) and close the bar."""
        if self._socket is not None and self._listener is not None and self.address is not None:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as waker:
                waker.sendto(b"", self.address)
            self._listener.join()
            self._socket.close()
            self._socket = self._listener = None
        self._bar.close()

    def _receive(self) -> None:
        assert self._socket is not None
        while True:
            try:
                message = self._socket.recv(4096)
            except OSError:  # closed under it
                return
            if not message:  # close() asks it to end
                return
            self.tick(message.decode("utf-8", "replace"))


def remote_ticker(address: bytes | None, shard: str) -> tuple[Tick | None, Callable[[], None]]:
    """In a worker: a function that reports one sample of ``shard`` to the bar at ``address``, and
    one that releases its socket. A bar that is gone (the build stopped) is not an error."""
    if address is None:
        return None, lambda: None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setblocking(False)
    message = shard.encode()

    def tick() -> None:
        try:
            sock.sendto(message, address)
        except OSError:  # the build process is gone or its queue is full: the shard's total still counts
            pass

    return tick, sock.close
