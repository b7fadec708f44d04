"""A scan's (device, nonce): what makes a retry answered the same and stored once.

``scans`` is partitioned by month of ``received_at`` (migration 0030), and a unique key of a
partitioned table must hold the partition key: the nonce check lives in the unpartitioned
``scan_nonces (device, nonce) PRIMARY KEY``, which also keeps the scan's id and
``received_at``. Every statement that stores scans claims their nonces first, in the same
statement (``INSERT INTO scan_nonces ... ON CONFLICT DO NOTHING RETURNING scan_id,
received_at``) and stores only the scans whose nonce it claimed, with that ``received_at``;
a nonce recorded first (a retry, or a scanner reusing a nonce) stores nothing.

A replay is read through ``scan_nonces``: the scan's id and ``received_at`` name one
partition's primary key. A nonce whose scan lies in a detached month (archived) still turns
the retry away; it is answered as a refused ``unknown`` scan, counted nowhere.
"""

from __future__ import annotations


def replay_of(device: str, nonce: str) -> str:
    """The SQL of a scalar subquery: the stored scan of ``device`` and ``nonce`` (two SQL
    expressions) as ``row(id, result, reason, session_id, ticket_id, mode)``, or null."""
    return (
        "(SELECT row(n.scan_id, coalesce(s.result, 'refused'),"
        " CASE WHEN s.id IS NULL THEN 'unknown' ELSE s.reason END,"
        " s.session_id, s.ticket_id, s.mode)"
        " FROM scan_nonces n LEFT JOIN scans s"
        " ON s.id = n.scan_id AND s.received_at = n.received_at"
        f" WHERE n.device = {device} AND n.nonce = {nonce})"
    )


REPLAY = f"SELECT {replay_of('$1', '$2')}"
"""The stored scan of device $1 and nonce $2 (see :func:`replay_of`)."""
