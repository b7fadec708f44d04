"""The exports read back: the CSV with the ``csv`` module (UTF-8 with a BOM, amounts with two
decimals, ISO times, formulas escaped), the XLSX with openpyxl (dates as dates, amounts as
numbers in the 0.00 format), and both the same lines as the JSON statement."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Any

import openpyxl

from tests.accounting.helpers import ARTICLE_PRICE, FULL, Trade, period
from tests.support import Api


async def download(admin: Api, path: str, **params: Any) -> bytes:
    r = await admin.http.get(path, params={**period(), **params})
    assert r.status_code == 200, r.text
    return r.content


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


async def test_the_sales_csv_reads_back_as_the_statement(admin: Api, day: Trade) -> None:
    raw = await download(
        admin, "/api/statements/sales.csv", register_id=day.register_id, tz="Europe/Paris"
    )
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    found = (
        await admin.http.get(
            "/api/statements/sales", params={**period(), "register_id": day.register_id}
        )
    ).json()
    assert len(rows) == len(found["lines"]) == 5
    assert [cents(r["gross"]) for r in rows] == [ln["gross_cents"] for ln in found["lines"]]
    assert rows[0]["gross"] == "15.00" and rows[-1]["gross"] == "-15.00"
    assert rows[0]["tax_rate_percent"] == "5.50"
    paid = datetime.fromisoformat(rows[0]["paid_at"])
    assert paid.utcoffset() is not None and paid == datetime.fromisoformat(
        found["lines"][0]["paid_at"]
    )
    assert rows[3]["description"] == "'" + day.article_name  # not a formula
    assert rows[3]["method"] == "card+cash"


async def test_the_sales_xlsx_has_dates_and_numbers(admin: Api, day: Trade) -> None:
    raw = await download(admin, "/api/statements/sales.xlsx", register_id=day.register_id)
    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=False)
    sheet = book["sales"]
    rows = list(sheet.iter_rows(values_only=True))
    head = list(rows[0])
    assert len(rows) == 1 + 5
    paid = sheet.cell(row=2, column=head.index("paid_at") + 1)
    assert isinstance(paid.value, datetime)
    gross = sheet.cell(row=5, column=head.index("gross") + 1)
    assert gross.value == 2 * ARTICLE_PRICE / 100 and gross.number_format == "0.00"
    assert rows[-1][head.index("gross")] == -FULL / 100
    text = rows[4][head.index("description")]
    assert text == "'" + day.article_name
    assert rows[1][head.index("quantity")] == 1


async def test_the_register_exports_hold_the_z(admin: Api, day: Trade) -> None:
    raw = await download(admin, "/api/statements/registers.csv", register_id=day.register_id)
    [row] = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert int(row["z_number"]) == day.z["z_number"]
    assert cents(row["expected"]) == day.z["expected_cents"]
    raw = await download(admin, "/api/statements/registers.xlsx", register_id=day.register_id)
    rows = list(openpyxl.load_workbook(io.BytesIO(raw))["register sessions"].values)
    head = list(rows[0])
    assert rows[1][head.index("z_hash")] == row["z_hash"]
    assert isinstance(rows[1][head.index("closed_at")], datetime)


async def test_the_accounting_exports_have_every_section(admin: Api, day: Trade) -> None:
    raw = await download(admin, "/api/statements/accounting.csv", register_id=day.register_id)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    titles = [rows[0][0]] + [rows[i + 1][0] for i, r in enumerate(rows[:-1]) if r == []]
    assert titles == [
        "takings by day",
        "sales by item",
        "sales by tax rate",
        "sales by method",
        "wallet float",
        "wallet movements",
        "unpaid reservations",
    ]
    assert rows[1][:3] == ["day", "method", "point_of_sale_id"]
    raw = await download(admin, "/api/statements/accounting.xlsx", register_id=day.register_id)
    book = openpyxl.load_workbook(io.BytesIO(raw))
    assert book.sheetnames == titles
    days = list(book["takings by day"].values)
    assert isinstance(days[1][0], datetime)
