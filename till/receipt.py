"""A journal entry as a PDF receipt, on an 80 mm roll or an A4 page: pure (fpdf2, no I/O).

The entry is the journal's own (``server.cash.desk.entry_json``): the figures printed are
the ones journalled (tax rate, net, tax, gross per line; payments with what was given and
the change), never recomputed. Text uses the PDF core fonts (Windows-1252: the euro sign,
French accents); other characters are replaced. Streams are left uncompressed: a receipt
is a few kilobytes, and its text can be read back as it was written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from fpdf import FPDF

Paper = Literal["80mm", "a4"]
PAPERS: tuple[Paper, ...] = ("80mm", "a4")
_ENCODING = "windows-1252"
_KINDS = {
    "sale": "Vente / Sale",
    "refund": "Remboursement / Refund",
    "float": "Fond de caisse / Float",
    "credit": "Apport / Cash in",
    "debit": "Retrait / Cash out",
    "credit_error": "Erreur d'apport / Cash-in error",
    "debit_error": "Erreur de retrait / Cash-out error",
    "closing_difference": "Écart de clôture / Closing difference",
}
_METHODS = {"cash": "Espèces / Cash", "card": "Carte / Card"}


def _text(value: str) -> str:
    return value.encode(_ENCODING, "replace").decode(_ENCODING)


def money(cents: int, currency: str) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    symbol = "€" if currency == "EUR" else currency
    return f"{sign}{whole},{part:02d} {symbol}"


def rate(basis_points: int) -> str:
    return f"{basis_points / 100:g} %".replace(".", ",")


class _Receipt:
    def __init__(self, paper: Paper, n_lines: int) -> None:
        if paper == "80mm":
            self.width, margin = 80.0, 4.0
            height = 95.0 + 9.0 * n_lines
            self.pdf = FPDF(unit="mm", format=(self.width, height))
            self.size = 8.0
        else:
            self.width, margin = 210.0, 18.0
            self.pdf = FPDF(unit="mm", format="A4")
            self.size = 10.0
        self.pdf.compress = False
        self.pdf.core_fonts_encoding = _ENCODING
        self.pdf.set_auto_page_break(True, margin)
        self.pdf.set_margins(margin, margin, margin)
        self.pdf.set_creator("Guichet")
        self.pdf.add_page()
        self.inner = self.width - 2 * margin

    def line(self, left: str, right: str = "", bold: bool = False, scale: float = 1.0) -> None:
        pdf = self.pdf
        pdf.set_font("Helvetica", "B" if bold else "", self.size * scale)
        height = self.size * scale * 0.5
        y = pdf.get_y()
        if right:
            pdf.set_xy(pdf.l_margin, y)
            pdf.cell(self.inner, height, _text(right), align="R")
            pdf.set_xy(pdf.l_margin, y)
            pdf.multi_cell(self.inner * 0.68, height, _text(left))
        else:
            pdf.multi_cell(self.inner, height, _text(left))
        pdf.set_y(max(pdf.get_y(), y + height))

    def rule(self) -> None:
        y = self.pdf.get_y() + 1
        self.pdf.line(self.pdf.l_margin, y, self.pdf.l_margin + self.inner, y)
        self.pdf.set_y(y + 1.5)


def receipt_pdf(
    entry: Mapping[str, Any], register: str, cashier: str, paper: Paper = "80mm"
) -> bytes:
    """The receipt of ``entry`` (a journal entry with its ``lines`` and ``payments``)."""
    lines: Sequence[Mapping[str, Any]] = entry["lines"]
    payments: Sequence[Mapping[str, Any]] = entry["payments"]
    currency = entry["currency"]
    seated = sum(1 + bool(ln["ticket"].get("seat")) for ln in lines if ln.get("ticket"))
    r = _Receipt(paper, len(lines) + len(payments) + seated)
    r.pdf.set_title(f"Receipt {entry['receipt_no']} - {register}")
    r.line("Guichet", bold=True, scale=1.3)
    r.line(register)
    r.line(f"Reçu n° / Receipt no. {entry['receipt_no']}", bold=True)
    r.line(_KINDS.get(entry["kind"], entry["kind"]))
    r.line(entry["created_at"][:19].replace("T", " ") + " UTC")
    r.line(f"Caissier / Cashier: {cashier}")
    if entry.get("reason"):
        r.line(f"Motif / Reason: {entry['reason']}")
    r.rule()
    for ln in lines:
        label = f"{ln['quantity']} x {ln['description']}"
        r.line(label, money(ln["gross_cents"], currency))
        if ticket := ln.get("ticket"):
            starts = str(ticket["starts_at"])[:16].replace("T", " ")
            r.line(f"   {ticket['event']} {starts} UTC", scale=0.85)
            if ticket.get("seat"):
                r.line(f"   Rang / Row {ticket['row']}, place / seat {ticket['seat']}", scale=0.85)
        r.line(
            f"   TVA / VAT {rate(ln['tax_rate_bp'])}: HT {money(ln['net_cents'], currency)},"
            f" TVA {money(ln['tax_cents'], currency)}",
            scale=0.85,
        )
    r.rule()
    r.line("HT / Net", money(entry["net_cents"], currency))
    r.line("TVA / VAT", money(entry["tax_cents"], currency))
    r.line("TOTAL", money(entry["total_cents"], currency), bold=True, scale=1.2)
    r.rule()
    for p in payments:
        r.line(_METHODS.get(p["method"], p["method"]), money(p["amount_cents"], currency))
        if p.get("given_cents") is not None:
            r.line("   Reçu / Given", money(p["given_cents"], currency), scale=0.9)
            r.line("   Rendu / Change", money(p.get("change_cents") or 0, currency), scale=0.9)
    r.rule()
    r.line(f"Chaîne / Chain {entry['hash'][:16]}", scale=0.75)
    return bytes(r.pdf.output())
