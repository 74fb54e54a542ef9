"""Messages over a Unix stream socket between the judge and the kernel's agent.

A message is a control header (a JSON object: ``op``, ``seq`` and the value's tree under ``v``)
and the value's buffers. On the wire:

    b"NNJ1" | u32 buffer count | u64 header length | header | (u64 length | bytes) per buffer

Every length is checked against ``codec.Bounds`` before anything is read or allocated, and every
receive runs under a deadline: a peer that sends too much, lies about a length, trickles bytes or
goes silent raises ``Malformed``, ``Silent`` or ``Gone``, never blocks past the deadline or makes
the reader allocate what the bounds do not allow. Like ``codec``, this module is also sent, as
text, into the kernel (standard library only).
"""

import json
import socket
import struct
import time

try:
    from .codec import Bounds, Malformed
except ImportError:  # inside the kernel: codec's text precedes this one in the same module
    pass

MAGIC = b"NNJ1"
PREFIX = struct.Struct("<4sIQ")
LENGTH = struct.Struct("<Q")
SMALL = 1 << 16  # parts below this size are joined into one send
CHUNK = 1 << 20  # the most memory a message may take before its bytes arrive


class Gone(ConnectionError):
    """The peer closed the connection or died."""


class Silent(TimeoutError):
    """The peer did not answer before the deadline."""


def send(sock, header: dict, buffers=(), deadline: float | None = None) -> None:
    """Send one message: ``header`` (JSON-able; ``v`` holds the tree) and its buffers."""
    head = json.dumps(header, ensure_ascii=True, allow_nan=True, separators=(",", ":")).encode("ascii")
    parts = [PREFIX.pack(MAGIC, len(buffers), len(head)), head]
    for buffer in buffers:
        parts += [LENGTH.pack(len(buffer)), buffer]
    pending: list = []
    try:
        for part in parts:
            if len(part) < SMALL:
                pending.append(part)
                continue
            if pending:
                _send_all(sock, b"".join(pending), deadline)
                pending = []
            _send_all(sock, part, deadline)
        if pending:
            _send_all(sock, b"".join(pending), deadline)
    except (BrokenPipeError, ConnectionResetError) as error:
        raise Gone(str(error)) from None


def _send_all(sock, data, deadline) -> None:
    _time_left(sock, deadline)
    try:
        sock.sendall(data)
    except socket.timeout:
        raise Silent("the peer stopped reading") from None


def receive(sock, bounds, deadline: float | None = None):
    """One message as ``(header, buffers)``; buffers are writable ``bytearray``s."""
    magic, count, head_length = PREFIX.unpack(_exactly(sock, PREFIX.size, deadline))
    if magic != MAGIC:
        raise Malformed("a message that does not start with the protocol's magic")
    if count > bounds.max_buffers:
        raise Malformed(f"a message announcing {count} buffers (the limit is {bounds.max_buffers})")
    if head_length > bounds.max_bytes:
        raise Malformed(f"a message header of {head_length} bytes (the limit is {bounds.max_bytes})")
    raw = _exactly(sock, head_length, deadline)
    total = head_length
    buffers = []
    for _ in range(count):
        (length,) = LENGTH.unpack(_exactly(sock, LENGTH.size, deadline))
        total += length
        if total > bounds.max_bytes:
            raise Malformed(f"a message of more than {bounds.max_bytes} bytes (the limit)")
        buffers.append(_exactly(sock, length, deadline))
    try:
        header = json.loads(bytes(raw))
    except RecursionError:
        raise Malformed("a message nested too deeply to parse") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise Malformed(f"a message header that is not JSON ({str(error)[:80]})") from None
    if type(header) is not dict or type(header.get("op")) is not str or type(header.get("seq")) is not int:
        raise Malformed("a message header without an operation and a sequence number")
    return header, buffers


def _exactly(sock, size: int, deadline) -> bytearray:
    """``size`` bytes; memory grows with what arrives, so a length that lies costs nothing."""
    step = min(size, CHUNK)
    data = bytearray(step)
    got = 0
    while got < size:
        if got == len(data):
            data.extend(bytes(min(size - got, len(data))))  # double, up to what is announced
        _time_left(sock, deadline)
        try:
            n = sock.recv_into(memoryview(data)[got:], len(data) - got)
        except socket.timeout:
            raise Silent("the peer did not answer in time") from None
        except OSError as error:
            raise Gone(str(error)) from None
        if n == 0:
            raise Gone("the peer closed the connection")
        got += n
    return data


def _time_left(sock, deadline) -> None:
    if deadline is None:
        sock.settimeout(None)
        return
    left = deadline - time.monotonic()
    if left <= 0:
        raise Silent("the deadline passed")
    sock.settimeout(left)
