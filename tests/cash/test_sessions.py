"""Register sessions: one open per register and per cashier whatever the concurrency, and
who may refund what."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.cash.helpers import cashier, desk_sale, new_register, open_session
from tests.support import Api, ServerProcess


async def test_of_concurrent_opens_of_one_register_exactly_one_wins(
    server: ServerProcess, admin: Api
) -> None:
    register_id = await new_register(admin)
    cashiers = [await cashier(admin, server) for _ in range(6)]
    try:
        results = await asyncio.gather(
            *(
                c.http.post(f"/api/registers/{register_id}/sessions", json={"counted": {}})
                for c in cashiers
            )
        )
    finally:
        for c in cashiers:
            await c.close()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * 5, [r.text for r in results]
    assert {r.json()["error"]["code"] for r in results if r.status_code == 409} == {"register_busy"}


async def test_a_cashier_opens_one_register_at_a_time_whatever_the_concurrency(
    server: ServerProcess, admin: Api
) -> None:
    registers = [await new_register(admin) for _ in range(5)]
    api = await cashier(admin, server)
    try:
        results = await asyncio.gather(
            *(
                api.http.post(f"/api/registers/{r}/sessions", json={"counted": {}})
                for r in registers
            )
        )
        current = await api.http.get("/api/register-sessions/current")
    finally:
        await api.close()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * 4, [r.text for r in results]
    assert {r.json()["error"]["code"] for r in results if r.status_code == 409} == {"cashier_busy"}
    winner = next(r.json() for r in results if r.status_code == 201)
    assert current.json()["id"] == winner["id"]


async def test_bad_counts_and_operations_are_refused_with_a_code(
    server: ServerProcess, admin: Api
) -> None:
    register_id = await new_register(admin)
    api = await cashier(admin, server)
    try:
        bad_counts: list[Any] = [{"0": 1}, {"100": -1}, {"abc": 1}, []]
        for counted in bad_counts:
            r = await api.http.post(
                f"/api/registers/{register_id}/sessions", json={"counted": counted}
            )
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_field", r.text
        rs = await open_session(api, register_id)
        for body in (
            {"kind": "credit", "amount_cents": 0, "reason": "x"},
            {"kind": "sale", "amount_cents": 100, "reason": "x"},
            {"kind": "debit", "amount_cents": 100},
            {"kind": "debit", "amount_cents": 100, "reason": " "},
        ):
            r = await api.http.post(f"/api/register-sessions/{rs}/operations", json=body)
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_field", r.text
    finally:
        await api.close()


async def test_a_cashier_works_only_in_their_own_session(server: ServerProcess, admin: Api) -> None:
    register_id = await new_register(admin)
    alice, bob = await cashier(admin, server), await cashier(admin, server)
    try:
        rs = await open_session(alice, register_id)
        op = {"kind": "credit", "amount_cents": 100, "reason": "change"}
        for method, path, body in (
            ("POST", f"/api/register-sessions/{rs}/operations", op),
            ("POST", f"/api/register-sessions/{rs}/close", {"counted": {}}),
            ("GET", f"/api/register-sessions/{rs}/report", None),
            ("GET", f"/api/register-sessions/{rs}/journal", None),
        ):
            r = await bob.http.request(method, path, json=body)
            assert (r.status_code, r.json()["error"]["code"]) == (
                403,
                "not_your_register_session",
            ), path
        r = await bob.http.get(f"/api/registers/{register_id}/sessions")
        assert r.status_code == 403  # past sessions: registers.manage
        r = await admin.http.post(f"/api/register-sessions/{rs}/close", json={"counted": {}})
        assert r.status_code == 200 and r.json()["closed_by"] != r.json()["cashier_id"]
    finally:
        await alice.close()
        await bob.close()


async def test_refund_own_register_refunds_only_that_registers_sales(
    server: ServerProcess, admin: Api
) -> None:
    here, there = await new_register(admin), await new_register(admin)
    seller = await cashier(admin, server, "pos", "refund")
    neighbour = await cashier(admin, server, "pos", "refund")
    pos_only = await cashier(admin, server, "pos")
    try:
        s = await admin.create_session()
        rs = await open_session(seller, here)
        other = await open_session(neighbour, there)
        sold = await desk_sale(seller, s, rs, s.seat_ids[:3])
        entry = sold.json()["receipt"]["journal_id"]
        tickets = [t["id"] for t in sold.json()["tickets"]]

        r = await pos_only.http.post(
            f"/api/journal/{entry}/refund", json={"register_session_id": rs}
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await neighbour.http.post(
            f"/api/journal/{entry}/refund", json={"register_session_id": other}
        )
        assert (r.status_code, r.json()["error"]["code"]) == (403, "not_own_register")
        r = await neighbour.http.post(
            f"/api/journal/{entry}/refund", json={"register_session_id": rs}
        )
        assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_register_session")
        r = await seller.http.post(
            f"/api/journal/{entry}/refund",
            json={"register_session_id": rs, "ticket_ids": tickets[:1]},
        )
        assert r.status_code == 201, r.text
        r = await seller.http.post(
            f"/api/journal/{entry}/refund",
            json={"register_session_id": rs, "ticket_ids": tickets[:1]},
        )
        assert (r.status_code, r.json()["error"]["code"]) == (409, "ticket_not_active")
        refund_entry = (
            await seller.http.post(
                f"/api/journal/{entry}/refund",
                json={"register_session_id": rs},
            )
        ).json()
        assert refund_entry["total_cents"] == -3000  # the two tickets left
        r = await seller.http.post(
            f"/api/journal/{refund_entry['journal_id']}/refund", json={"register_session_id": rs}
        )
        assert (r.status_code, r.json()["error"]["code"]) == (409, "not_a_sale")
        # an admin (refund.any) refunds from another register
        sold = await desk_sale(seller, s, rs, s.seat_ids[3:4])
        third = await new_register(admin)
        # an admin of its own: the suite's admin may have a register open elsewhere
        supervisor = await cashier(admin, server, "admin")
        admin_rs = await open_session(supervisor, third, {})
        r = await supervisor.http.post(
            f"/api/journal/{sold.json()['receipt']['journal_id']}/refund",
            json={"register_session_id": admin_rs, "method": "card"},
        )
        assert r.status_code == 201, r.text
        await supervisor.http.post(f"/api/register-sessions/{admin_rs}/close", json={"counted": {}})
        await supervisor.close()
    finally:
        for api in (seller, neighbour, pos_only):
            await api.close()


async def test_a_close_racing_sales_takes_exactly_the_sales_before_it(
    server: ServerProcess, admin: Api
) -> None:
    register_id = await new_register(admin)
    api = await cashier(admin, server)
    try:
        s = await admin.create_session()
        rs = await open_session(api, register_id)
        sales = [desk_sale(api, s, rs, [seat]) for seat in s.seat_ids[:12]]
        close = api.http.post(f"/api/register-sessions/{rs}/close", json={"counted": {}})
        *sold, closed = await asyncio.gather(*sales, close)
        journal = (await admin.http.get(f"/api/register-sessions/{rs}/journal")).json()
    finally:
        await api.close()
    assert closed.status_code == 200, closed.text
    outcomes = {(r.status_code, r.json().get("error", {}).get("code")) for r in sold}
    assert outcomes <= {(201, None), (409, "register_session_closed")}, outcomes
    taken = sum(1500 for r in sold if r.status_code == 201)
    assert closed.json()["expected_cents"] == 5500 + taken
    assert journal["entries"][0]["kind"] == "closing_difference"  # the last one
    assert sum(e["kind"] == "sale" for e in journal["entries"]) == taken // 1500
