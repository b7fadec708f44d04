"""Door counters recomputed from Postgres, the truth, when Redis lost them.

``entered`` counts passages in: first entries plus re-entries; ``exited`` counts valid exit
scans; ``inside`` is ``entered - exited``, which is the number of entries whose holder is
inside now (a check constraint on ``entries`` keeps the two equal). Per door: first entries
by the door of their entry, re-entries and exits by the door of their scan.
"""

from __future__ import annotations

from collections import defaultdict

import asyncpg

from server.door.counters import CountsFromPostgres
from server.platform.db import connection

_ENTRIES = """
SELECT door, count(*) AS n, sum(reentries) AS back, sum(exits) AS out,
       count(*) FILTER (WHERE inside) AS inside
FROM entries WHERE session_id = $1 GROUP BY door
"""

# Valid re-entry and exit scans by the door they were scanned at; refused scans by reason.
_SCANS = """
SELECT door, result, reason, mode, reentry, count(*) AS n FROM scans
WHERE session_id = $1 AND (result = 'refused' OR mode = 'exit' OR reentry)
GROUP BY door, result, reason, mode, reentry
"""


# Passages in of the last minute (the rate): first entries and re-entries.
_RECENT = """
SELECT door, scan_id, entered_at FROM entries
WHERE session_id = $1 AND entered_at > now() - interval '60 seconds'
UNION ALL
SELECT door, id, received_at FROM scans
WHERE session_id = $1 AND reentry AND received_at > now() - interval '60 seconds'
"""


async def counts_from_postgres(pool: asyncpg.Pool, session_id: int) -> CountsFromPostgres:
    """Door counters recomputed from the truth (see :class:`server.door.counters.DoorLive`)."""
    async with connection(pool) as conn:
        entries = await conn.fetch(_ENTRIES, session_id)
        scans = await conn.fetch(_SCANS, session_id)
        recent = await conn.fetch(_RECENT, session_id)
        ends_at = await conn.fetchval("SELECT ends_at FROM sessions WHERE id = $1", session_id)
    fields: dict[str, int] = defaultdict(int)
    for r in entries:
        fields["entered"] += r["n"] + r["back"]
        fields["exited"] += r["out"]
        fields["inside"] += r["inside"]
        fields[f"door:{r['door']}:entered"] += r["n"]
    for r in scans:
        door, n = r["door"], r["n"]
        if r["result"] == "refused":
            fields["refused"] += n
            fields[f"refused:{r['reason']}"] += n
            fields[f"door:{door}:refused"] += n
        elif r["mode"] == "exit":
            fields[f"door:{door}:exited"] += n
        else:
            fields[f"door:{door}:entered"] += n
    recent_entries = [
        (r["door"], int(r["entered_at"].timestamp() * 1000), str(r["scan_id"])) for r in recent
    ]
    ends_at_ms = int(ends_at.timestamp() * 1000) if ends_at is not None else 0
    return CountsFromPostgres(dict(fields), recent_entries, ends_at_ms)
