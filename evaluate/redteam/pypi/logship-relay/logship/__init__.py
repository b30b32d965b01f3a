"""logship: ship log lines to a relay over one persistent connection."""
import socket

__version__ = "1.0.0"


class Shipper:
    """Send newline-terminated log lines to host:port over TCP."""

    def __init__(self, host, port=5140, timeout=5.0):
        self.addr = (host, port)
        self.timeout = timeout
        self.sock = None

    def _connect(self):
        if self.sock is None:
            self.sock = socket.create_connection(self.addr, timeout=self.timeout)
        return self.sock

    def ship(self, line):
        data = line.rstrip("\n").encode("utf-8", "replace") + b"\n"
        self._connect().sendall(data)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
