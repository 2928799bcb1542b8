"""A decoder in a fresh process, for round-trip tests that matter.

Decoding in the process that encoded can hide bugs: the decoder's arrays
may reuse the encoder's freed memory and so read what the encoder wrote.
FreshDecoder starts one Python process that has never encoded anything and
sends it archives over a pipe, so many archives cost one start-up.

    with FreshDecoder() as fresh:
        assert fresh.decode(blob) == data          # or raises FreshError
"""
from __future__ import annotations

import struct
import subprocess
import sys

_LENGTH = struct.Struct("<Q")

# The child: read length-prefixed archives, answer each with a status byte
# (0 decoded, 1 failed) and a length-prefixed body (the data or the error).
_CHILD = r"""
import struct, sys
import shoal
LENGTH = struct.Struct("<Q")
inp, out = sys.stdin.buffer, sys.stdout.buffer
while True:
    head = inp.read(LENGTH.size)
    if len(head) < LENGTH.size:
        break
    threads = inp.read(1)[0]
    blob = inp.read(LENGTH.unpack(head)[0])
    try:
        status, body = 0, shoal.decompress(blob, threads=threads)
    except Exception as error:
        status, body = 1, f"{type(error).__name__}: {error}".encode()
    out.write(bytes([status]) + LENGTH.pack(len(body)) + body)
    out.flush()
"""


class FreshError(Exception):
    """The fresh process could not decode an archive (its error's text)."""


class FreshDecoder:
    def __init__(self):
        self._proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE)

    def decode(self, blob: bytes, threads: int = 1) -> bytes:
        self._proc.stdin.write(_LENGTH.pack(len(blob)) + bytes([threads]) + blob)
        self._proc.stdin.flush()
        status = self._proc.stdout.read(1)
        if not status:
            raise RuntimeError(f"the fresh decoder died (exit status {self._proc.wait()})")
        body = self._proc.stdout.read(_LENGTH.unpack(self._proc.stdout.read(_LENGTH.size))[0])
        if status[0]:
            raise FreshError(body.decode())
        return body

    def close(self) -> None:
        self._proc.stdin.close()
        self._proc.wait(timeout=60)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
