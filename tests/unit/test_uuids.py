"""engine.uuids: ids from a buffer of kernel randomness behave as uuid4's."""

from __future__ import annotations

import threading
import uuid

from engine.uuids import new_id


def test_ids_are_distinct_version_4_uuids_across_buffer_refills_and_threads():
    found: list[str] = []

    def take() -> None:
        found.extend(new_id() for _ in range(700))  # several 256-id buffers each

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 2800 and len(set(found)) == 2800
    parsed = [uuid.UUID(text) for text in found]
    assert {u.version for u in parsed} == {4} and {u.variant for u in parsed} == {uuid.RFC_4122}
    assert all(str(u) == text for u, text in zip(parsed, found, strict=True))
