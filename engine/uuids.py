"""Random (version 4) UUIDs for rows the engine creates, from a buffer of ``os.urandom``.

``uuid.uuid4()`` reads 16 bytes from the kernel per id; the read releases the GIL, and the
writer's thread then waits to get it back behind every other thread (40 us an id measured
in the P1 benchmark, against 3 us alone). One read of 4 KiB serves 256 ids, with the same
randomness.
"""

from __future__ import annotations

import os
import threading
import uuid

_CHUNK = 4096
_lock = threading.Lock()
_pool = b""
_offset = 0


def new_id() -> str:
    """A new random UUID as text (``str(uuid.uuid4())``)."""
    global _pool, _offset
    with _lock:
        if _offset + 16 > len(_pool):
            _pool, _offset = os.urandom(_CHUNK), 0
        raw = _pool[_offset:_offset + 16]
        _offset += 16
    return str(uuid.UUID(bytes=raw, version=4))
