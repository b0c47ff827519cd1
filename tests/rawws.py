"""A minimal websocket and chunked-HTTP client on a plain socket, for the security tests: it can do what
well-behaved client libraries will not (never read, stream a body forever)."""

from __future__ import annotations

import base64
import os
import socket
import struct


def ws_connect(host: str, port: int, path: str, headers: dict[str, str] | None = None) -> tuple[socket.socket, str]:
    """Open a websocket (the handshake only); returns the socket and the server's status line."""
    s = socket.create_connection((host, port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        byte = s.recv(1)
        if not byte:
            break
        head += byte
    return s, head.decode("latin-1").split("\r\n", 1)[0]


def ws_frame(payload: bytes, opcode: int = 1) -> bytes:
    """One masked client frame (text by default)."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_read_until_close(s: socket.socket, timeout_s: float = 15.0) -> tuple[int, int | None, str]:
    """Read the server's frames until its close frame: (text frames seen, close code, reason)."""
    s.settimeout(timeout_s)
    buf = b""
    frames = 0

    def need(k: int) -> None:
        nonlocal buf
        while len(buf) < k:
            chunk = s.recv(1 << 16)
            if not chunk:
                raise EOFError
            buf += chunk

    try:
        while True:
            need(2)
            op, n, off = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if n == 126:
                need(4)
                n, off = struct.unpack("!H", buf[2:4])[0], 4
            elif n == 127:
                need(10)
                n, off = struct.unpack("!Q", buf[2:10])[0], 10
            need(off + n)
            payload, buf = buf[off : off + n], buf[off + n :]
            if op == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return frames, code, payload[2:].decode("utf-8", "replace")
            frames += 1
    except (EOFError, TimeoutError, ConnectionError):
        return frames, None, ""
