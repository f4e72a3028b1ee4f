"""Content-Encoding decoded piece by piece, with a cap on the bytes it may produce.

httpx decodes each chunk it reads in one go, so `Content-Encoding: gzip, gzip` turns 3.5 kB
on the wire into gigabytes in memory before any size check sees them. Here every layer
inflates at most `limit` bytes in all (zlib's `max_length`), so a bomb stops at the cap.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

# Each inflate call returns at most this much: memory stays small whatever the ratio.
STEP = 64 * 1024
# Most codings one body may stack; more is an attack, not a page.
MAX_CODINGS = 5


class DecodeError(ValueError):
    """The body cannot be decoded, or decodes to more than the limit; says which."""


class _Layer:
    """One content coding (gzip or deflate), inflated in bounded steps."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        gzip = coding in ("gzip", "x-gzip")
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        self._first = not gzip  # "deflate" is zlib-wrapped, but some servers send it raw

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The inflated bytes, a step at a time (a generator: nothing piles up)."""
        while data:
            try:
                piece = self._zlib.decompress(data, STEP)
            except zlib.error:
                if not self._first:
                    raise DecodeError(f"bad {self.coding} data") from None
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                piece = self._zlib.decompress(data, STEP)
            self._first = False
            yield piece
            data = self._zlib.unconsumed_tail


class Decoder:
    """Decodes a body encoded with `Content-Encoding` codings; raises DecodeError past
    `limit` decoded bytes (each layer's output counted, the innermost one's returned)."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > MAX_CODINGS:  # curl's cap too (CVE-2022-32206): no page needs more
            raise DecodeError(f"too many Content-Encodings ({len(codings)} > {MAX_CODINGS})")
        unknown = [c for c in codings if c not in ("gzip", "x-gzip", "deflate")]
        if unknown:
            raise DecodeError(f"unsupported Content-Encoding {unknown[0][:40]}")
        # Applied left to right by the server, so undone right to left.
        self._layers = [_Layer(c) for c in reversed(codings)]
        self._sizes = [0] * len(self._layers)
        self.limit = limit

    def feed(self, data: bytes) -> bytes:
        """The decoded bytes that `data` (the next raw chunk) gives: each layer in turn, in
        a loop (a layer's whole output of this chunk is at most `limit` bytes)."""
        pieces = [data]
        for n, layer in enumerate(self._layers):
            inflated: list[bytes] = []
            for piece in pieces:
                for out in layer.feed(piece):
                    self._sizes[n] += len(out)
                    if self._sizes[n] > self.limit:
                        raise DecodeError("too large")
                    inflated.append(out)
            pieces = inflated
        return b"".join(pieces)
