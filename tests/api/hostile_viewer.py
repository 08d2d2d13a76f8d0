"""A hostile websocket viewer, run as its own process: it floods junk messages and never reads a byte, and
connects again whenever the server closes it, for the given seconds. Prints {"connections", "messages"}.

Raw frames over a plain socket, with a tiny receive buffer: no client library reads on its behalf."""

import base64
import json
import os
import socket
import sys
import time

JUNK = b"junk that is not JSON " * 4


def frame(payload: bytes) -> bytes:
    """One masked text frame (clients must mask), payload under 126 bytes."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + body


def connect(host: str, port: int, path: str) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:  # the handshake answer is the only thing this viewer ever reads
        chunk = sock.recv(1024)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.split(b"\r\n")[0].decode())
    return sock


def main() -> None:
    host, port, path, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    burst = frame(JUNK) * 50
    connections = messages = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            sock = connect(host, port, path)
        except (OSError, ConnectionError):
            time.sleep(0.05)
            continue
        connections += 1
        try:
            while time.monotonic() < end:
                sock.sendall(burst)
                messages += 50
        except OSError:  # closed by the server (or its buffers are full for 5 s): connect again
            pass
        finally:
            sock.close()
    print(json.dumps({"connections": connections, "messages": messages}))


if __name__ == "__main__":
    main()
