"""The UDP socket every transport stack owns: one per stack, its receive buffer grown.

Hundreds of answers arriving together overflow the default buffer and are silently
dropped, so each stack makes its own socket (and hands it to asyncio or pysnmp) rather
than letting a library make one it cannot size.
"""

from __future__ import annotations

import socket

# Room for a few thousand answers in flight (the kernel doubles the figure for overhead).
RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024


def udp_socket(receive_buffer_bytes: int) -> socket.socket:
    """A non-blocking, unbound IPv4 UDP socket with a grown receive buffer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    grow_receive_buffer(sock, receive_buffer_bytes)
    return sock


def grow_receive_buffer(sock: socket.socket, wanted: int) -> int:
    """Ask for ``wanted`` bytes; root may exceed net.core.rmem_max, others are capped."""
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    try:
        if force is None:
            raise PermissionError
        sock.setsockopt(socket.SOL_SOCKET, force, wanted)
    except PermissionError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wanted)
    got: int = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    return got
