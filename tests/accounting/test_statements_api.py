"""The three statements over HTTP, on a day of trade at a fresh desk, the e-shop and a bar:
their lines and totals, their filters, bounds and roles."""

from __future__ import annotations

from typing import Any

import pytest

from tests.accounting.helpers import (
    ARTICLE_PRICE,
    ARTICLE_RATE,
    FULL,
    FULL_RATE,
    REDUCED,
    REDUCED_RATE,
    Trade,
    period,
    tax,
)
from tests.support import Api, ServerProcess, staff_token


async def get(api: Api, path: str, **params: Any) -> Any:
    r = await api.http.get(path, params={**period(), **params})
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_desk_s_lines_are_its_journal(admin: Api, day: Trade) -> None:
    found = await get(admin, "/api/statements/sales", register_id=day.register_id)
    lines = found["lines"]
    assert [(ln["kind"], ln["gross_cents"]) for ln in lines] == [
        ("sale", FULL),
        ("sale", FULL),
        ("sale", REDUCED),
        ("sale", 2 * ARTICLE_PRICE),
        ("refund", -FULL),
    ]
    assert {ln["channel"] for ln in lines} == {"desk"}
    assert [ln["method"] for ln in lines] == ["cash", "cash", "card", "card+cash", "cash"]
    first = lines[0]
    assert first["event_at"].startswith("2030-06-01T19:00:00")
    assert first["session_id"] == day.session_id and first["cashier_id"] == day.cashier_id
    assert first["tax_cents"] == tax(FULL, FULL_RATE)
    assert lines[3]["description"] == day.article_name and lines[3]["quantity"] == 2
    totals = found["totals"]
    gross = 2 * FULL + REDUCED + 2 * ARTICLE_PRICE - FULL
    assert totals["overall"] == [
        {
            "currency": "EUR",
            "lines": 5,
            "net_cents": sum(ln["net_cents"] for ln in lines),
            "tax_cents": sum(ln["tax_cents"] for ln in lines),
            "gross_cents": gross,
        }
    ]
    methods = {m["method"]: m["amount_cents"] for m in totals["by_method"]}
    assert methods == {"cash": 2 * FULL + 100 - FULL, "card": REDUCED + 2 * ARTICLE_PRICE - 100}
    rates = {r["tax_rate_bp"]: r["gross_cents"] for r in totals["by_rate"]}
    assert rates == {FULL_RATE: FULL, REDUCED_RATE: REDUCED + 2 * ARTICLE_PRICE}


async def test_the_e_shop_sale_and_its_refund_are_lines_too(admin: Api, day: Trade) -> None:
    found = await get(admin, "/api/statements/sales", session_id=day.session_id, channel="eshop")
    lines = found["lines"]
    assert [(ln["kind"], ln["quantity"], ln["gross_cents"]) for ln in lines] == [
        ("sale", 1, REDUCED),
        ("sale", 1, REDUCED),
        ("refund", -1, -REDUCED),
    ]
    assert lines[2]["tax_cents"] == -tax(REDUCED, REDUCED_RATE)
    assert {ln["method"] for ln in lines} == {"online"}
    assert lines[0]["point_of_sale"] == "Eshop" and lines[0]["register_id"] is None
    assert found["totals"]["by_method"] == [
        {"currency": "EUR", "method": "online", "amount_cents": REDUCED}
    ]


async def test_filters_narrow_the_lines(admin: Api, day: Trade) -> None:
    whole = await get(admin, "/api/statements/sales", session_id=day.session_id)
    assert {ln["channel"] for ln in whole["lines"]} == {"desk", "eshop"}
    assert len(whole["lines"]) == 4 + 3  # the article is not a line of the session
    card = await get(admin, "/api/statements/sales", register_id=day.register_id, method="card")
    assert [ln["method"] for ln in card["lines"]] == ["card", "card+cash"]
    assert [m["method"] for m in card["totals"]["by_method"]] == ["card"]
    bar = await get(admin, "/api/statements/sales", point_of_sale_id=day.bar_point_id)
    assert [(ln["channel"], ln["gross_cents"], ln["method"]) for ln in bar["lines"]] == [
        ("bar", 700, "wallet")
    ]
    mine = await get(admin, "/api/statements/sales", cashier_id=day.cashier_id)
    assert len(mine["lines"]) == 5
    paged = await get(admin, "/api/statements/sales", register_id=day.register_id, limit=2)
    assert len(paged["lines"]) == 2 and paged["next_offset"] == 2
    assert paged["totals"]["overall"][0]["lines"] == 5
    before = await admin.http.get(
        "/api/statements/sales",
        params={"from": "2001-01-01", "to": "2001-01-31", "register_id": day.register_id},
    )
    assert before.json()["lines"] == [] and before.json()["totals"]["overall"] == []


async def test_the_accounting_statement_adds_up_the_same_lines(admin: Api, day: Trade) -> None:
    found = await get(admin, "/api/statements/accounting", register_id=day.register_id)
    takings = {(d["method"], d["point_of_sale_id"]): d for d in found["by_day"]}
    cash, card = takings[("cash", day.point_of_sale_id)], takings[("card", day.point_of_sale_id)]
    assert cash["sales_cents"] == FULL + 100 and cash["topups_cents"] == 2000
    assert card["sales_cents"] == REDUCED + 2 * ARTICLE_PRICE - 100
    items = {(i["item"], i["description"]): i for i in found["by_item"]}
    assert items[("tariff", "Full")]["quantity"] == 1
    assert items[("tariff", "Full")]["gross_cents"] == FULL
    article = items[("article", day.article_name)]
    assert (article["quantity"], article["tax_rate_bp"]) == (2, ARTICLE_RATE)
    sales = await get(admin, "/api/statements/sales", register_id=day.register_id)
    assert found["by_rate"] == sales["totals"]["by_rate"]
    assert sum(i["gross_cents"] for i in found["by_item"]) == sum(
        r["gross_cents"] for r in found["by_rate"]
    )


async def test_the_wallet_float_moves_by_its_movements(admin: Api, day: Trade) -> None:
    found = await get(admin, "/api/statements/accounting")
    for f in found["wallet_float"]:
        moves = [m for m in found["wallet_movements"] if m["currency"] == f["currency"]]
        into = sum(m["into_wallets_cents"] for m in moves)
        out = sum(m["out_of_wallets_cents"] for m in moves)
        assert f["end_cents"] - f["start_cents"] == into - out
    kinds = {m["kind"] for m in found["wallet_movements"]}
    assert {"topup", "debit"} <= kinds
    open_ = await get(admin, "/api/statements/accounting", session_id=day.session_id)
    assert open_["open"] == [
        {"currency": "EUR", "reservations": 1, "tickets": 3, "amount_cents": 3 * FULL}
    ]


async def test_the_register_statement_is_the_z_report(admin: Api, day: Trade) -> None:
    found = await get(admin, "/api/statements/registers", register_id=day.register_id)
    [s] = found["sessions"]
    z = day.z
    assert s["register_session_id"] == day.register_session_id
    assert (s["z_number"], s["expected_cents"], s["difference_cents"]) == (
        z["z_number"],
        z["expected_cents"],
        z["difference_cents"],
    )
    assert len(s["z_hash"]) == 64
    report = z["report"]
    assert s["sales_cash_cents"] == report["cash_sales_cents"] == 2 * FULL + 100
    assert s["refunds_cash_cents"] == report["cash_refunds_cents"] == FULL
    assert s["sales_card_cents"] == report["card_sales_cents"]
    assert (s["operations"], s["operations_cents"]) == (1, 500)
    assert (s["topups_cash_cents"], s["topups_card_cents"]) == (2000, 0)
    expected = s["float_cents"] + s["sales_cash_cents"] - s["refunds_cash_cents"]
    assert expected + s["operations_cents"] + s["topups_cash_cents"] == s["expected_cents"]
    [total] = found["totals"]
    assert (total["sessions"], total["closed"]) == (1, 1)
    assert total["difference_cents"] == s["difference_cents"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"to": "2025-01-01"}, "invalid_field"),
        ({"from": "2025-01-01"}, "invalid_field"),
        ({"from": "2025-02-01", "to": "2025-01-01"}, "invalid_period"),
        (
            {"from": "2025-01-01T10:00:00+00:00", "to": "2025-01-01T10:00:00+00:00"},
            "invalid_period",
        ),
        ({"from": "2024-01-01", "to": "2025-06-01"}, "period_too_long"),
        ({"from": "2025-01-01T10:00:00", "to": "2025-01-02"}, "invalid_field"),
        ({"from": "2025-13-01", "to": "2025-12-31"}, "invalid_field"),
        ({"from": "2025-01-01", "to": "2025-01-02", "tz": "Mars/Olympus"}, "invalid_field"),
        ({"from": "2025-01-01", "to": "2025-01-02", "channel": "fax"}, "invalid_field"),
        ({"from": "2025-01-01", "to": "2025-01-02", "method": "cheque"}, "invalid_field"),
        ({"from": "2025-01-01", "to": "2025-01-02", "register_id": "-1"}, "invalid_field"),
        ({"from": "2025-01-01", "to": "2025-01-02", "limit": "0"}, "invalid_field"),
    ],
)
@pytest.mark.parametrize("path", ["sales", "sales.csv", "accounting.xlsx", "registers"])
async def test_bad_input_is_refused_with_its_code(
    admin: Api, path: str, params: dict[str, str], code: str
) -> None:
    if path != "sales" and "limit" in params:
        return
    if path == "registers" and ("channel" in params or "method" in params):
        return
    r = await admin.http.get(f"/api/statements/{path}", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code


@pytest.mark.parametrize("path", ["sales", "registers", "accounting", "sales.csv"])
async def test_only_accounting_and_admins_read_statements(
    server: ServerProcess, admin: Api, path: str
) -> None:
    for roles, status in ((("accounting",), 200), (("pos", "stats"), 403), ((), 401)):
        api = Api(server.url, await staff_token(admin, *roles) if roles else None)
        try:
            r = await api.http.get(f"/api/statements/{path}", params=period())
            assert r.status_code == status, (roles, r.text)
        finally:
            await api.close()
