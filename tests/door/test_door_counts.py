"""The live door counters always equal what a rebuild from Postgres gives: after an upload
takes an entry over from an online scan, and for unreadable codes scanned offline. And a
scan dated in the future is judged when it arrives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests import support
from tests.door.test_door_api import buy_tickets, code_of, door_session, offline, scan, upload
from tests.support import Api


async def live_and_rebuilt(admin: Api, session_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The counters as kept live, then as rebuilt from Postgres (rates aside: they are
    measured from arrival times)."""

    def counts(figures: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in figures.items() if k not in {"rate_per_minute", "doors"}}

    def stable(c: dict[str, Any]) -> dict[str, Any]:
        doors = {d: counts(n) for d, n in c["doors"].items() if any(counts(n).values())}
        return {**counts(c), "doors": doors}

    live = (await admin.http.get(f"/api/sessions/{session_id}/entries")).json()
    client = support.redis_connect()
    await client.delete(f"gq:{{d:{session_id}}}:cnt")
    await client.aclose()
    rebuilt = (await admin.http.get(f"/api/sessions/{session_id}/entries")).json()
    return stable(live), stable(rebuilt)


async def test_an_entry_taken_over_by_an_earlier_offline_scan_counts_at_its_door(
    admin: Api, buyer: Api
) -> None:
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    assert (await scan(admin, code, door="north"))["result"] == "valid"
    earlier = datetime.now(UTC) - timedelta(minutes=2)
    await upload(admin, "tab-c", [offline(code, earlier, door="side")])
    live, rebuilt = await live_and_rebuilt(admin, session["id"])
    assert live == rebuilt
    assert live["entered"] == 1
    assert live["doors"]["side"]["entered"] == 1
    assert live["doors"].get("north", {}).get("entered", 0) == 0


async def test_unreadable_codes_scanned_offline_count_as_refusals_of_the_session(
    admin: Api,
) -> None:
    session = await door_session(admin)
    at = datetime.now(UTC) - timedelta(minutes=1)
    scans = [
        {**offline("hello", at, door="gate"), "session_id": session["id"]},
        {**offline("GQ1:not-a-code", at, door="gate"), "session_id": session["id"]},
        {**offline("nothing", at, door="gate"), "session_id": 2**40},  # no such session
    ]
    result = await upload(admin, "tab-d", scans)
    assert [r["reason"] for r in result["results"]] == ["unknown"] * 3
    live, rebuilt = await live_and_rebuilt(admin, session["id"])
    assert live == rebuilt
    assert live["refused"] == 2 and live["refused_by_reason"] == {"unknown": 2}


async def test_an_offline_scan_dated_in_the_future_is_judged_at_its_arrival(
    admin: Api, buyer: Api
) -> None:
    later = await door_session(admin, starts_in=timedelta(days=3))
    _, (ticket,) = await buy_tickets(buyer, later, 1)
    code = await code_of(admin, ticket)
    tomorrow_plus = datetime.now(UTC) + timedelta(days=3)  # a clock far ahead
    result = await upload(admin, "tab-e", [offline(code, tomorrow_plus)])
    assert result["results"][0]["reason"] == "not_yet_valid"


async def test_an_unreadable_code_scanned_for_an_unknown_session_is_still_answered(
    admin: Api,
) -> None:
    result = await scan(admin, "hello", session_id=2**40)
    assert (result["result"], result["reason"]) == ("refused", "unknown")
