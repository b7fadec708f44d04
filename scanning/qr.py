"""QR rendering of ticket codes: SVG, PNG, and a printable A6 PDF ticket.

QR symbols use error-correction level M (segno may raise it when that costs no
extra modules) and the alphanumeric mode whenever the text allows it, which is
always the case for Guichet codes (base45 alphabet): a 139-character code fits a
version 6 symbol (41 x 41 modules).

The PDF draws the QR code as vector rectangles, so it prints crisply at any size.
Text uses the PDF core font Helvetica (no font file needed, Windows-1252 range);
characters outside that range are transliterated when possible, otherwise
replaced by ``?``.  Pass ``font_path`` (a TrueType font such as DejaVuSans) to
print arbitrary Unicode names.
"""

from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

__all__ = ["qr_png", "qr_svg", "ticket_pdf", "tickets_pdf"]

_ALPHANUMERIC: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
_QUIET_ZONE: Final = 4  # modules, as required by ISO/IEC 18004

_PAGE_W: Final = 105.0  # A6 portrait, mm
_PAGE_H: Final = 148.0
_MARGIN: Final = 8.0
_QR_SIZE: Final = 62.0  # mm including the quiet zone

_CORE_ENCODING: Final = "windows-1252"
_TRANSLIT: Final = str.maketrans(
    {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "\u0131": "i", "ß": "ss"}
)


def _make_qr(code: str) -> segno.QRCode:
    if not code:
        raise ValueError("empty code")
    mode = "alphanumeric" if set(code) <= _ALPHANUMERIC else None
    return segno.make_qr(code, error="m", mode=mode)


def qr_svg(code: str) -> str:
    """A standalone SVG document (no XML declaration, so it can also be inlined in HTML)."""
    buf = io.BytesIO()
    _make_qr(code).save(
        buf, kind="svg", scale=4, border=_QUIET_ZONE, xmldecl=False, svgns=True, nl=False
    )
    return buf.getvalue().decode("utf-8")


def qr_png(code: str, scale: int = 8) -> bytes:
    """PNG bytes, ``scale`` pixels per module, with the standard 4-module quiet zone."""
    if scale < 1:
        raise ValueError("scale must be >= 1")
    buf = io.BytesIO()
    _make_qr(code).save(buf, kind="png", scale=scale, border=_QUIET_ZONE)
    return buf.getvalue()


def _core_text(text: str) -> str:
    """Make ``text`` printable with a core PDF font (Windows-1252)."""
    out: list[str] = []
    for ch in text.translate(_TRANSLIT):
        try:
            ch.encode(_CORE_ENCODING)
        except UnicodeEncodeError:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
            try:
                base.encode(_CORE_ENCODING)
            except UnicodeEncodeError:
                base = ""
            ch = base or "?"
        out.append(ch)
    return "".join(out)


def _draw_qr(pdf: FPDF, code: str, x: float, y: float, size: float) -> None:
    """Draw the QR code as filled rectangles (one per horizontal run of dark modules)."""
    rows = [list(row) for row in _make_qr(code).matrix]
    count = len(rows) + 2 * _QUIET_ZONE
    module = size / count
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            pdf.rect(
                x + (start + _QUIET_ZONE) * module,
                y + (r + _QUIET_ZONE) * module,
                (c - start) * module,
                module,
                style="F",
            )


def ticket_pdf(
    *,
    code: str,
    event: str,
    session_start: str,
    room: str,
    seat: str | None,
    tariff: str,
    holder: str | None,
    row: str | None = None,
    font_path: str | os.PathLike[str] | None = None,
) -> bytes:
    """A one-page A6 (105 x 148 mm) printable ticket with the QR code and the text fields.

    All fields are preformatted display strings (the caller localises dates).
    ``seat`` (and its ``row``) is ``None`` for unreserved seating, ``holder`` for anonymous
    tickets.
    """
    ticket = {
        "code": code,
        "event": event,
        "session_start": session_start,
        "room": room,
        "seat": seat,
        "row": row,
        "tariff": tariff,
        "holder": holder,
    }
    return tickets_pdf([ticket], font_path)


def tickets_pdf(
    tickets: Sequence[Mapping[str, str | None]],
    font_path: str | os.PathLike[str] | None = None,
) -> bytes:
    """Several tickets in one PDF, one A6 page each (the fields of :func:`ticket_pdf`)."""
    if not tickets:
        raise ValueError("no ticket")
    book = TicketBook(tickets[0], font_path)
    for ticket in tickets:
        book.add(ticket)
    return book.output()


class TicketBook:
    """A PDF of tickets built a page at a time (a batch export adds them as it reads them);
    ``first`` gives the document's title."""

    def __init__(
        self,
        first: Mapping[str, str | None],
        font_path: str | os.PathLike[str] | None = None,
    ) -> None:
        pdf = self.pdf = FPDF(unit="mm", format=(_PAGE_W, _PAGE_H))
        pdf.set_auto_page_break(False)
        pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
        pdf.set_title(str(first["event"]))
        pdf.set_subject(f"Ticket - {first['event']} - {first['session_start']}")
        pdf.set_creator("Guichet")
        if font_path is not None:
            pdf.add_font("TicketSans", "", str(font_path))
            self.font: tuple[str, str, Callable[[str], str]] = ("TicketSans", "", _same)
        else:
            pdf.core_fonts_encoding = _CORE_ENCODING
            self.font = ("Helvetica", "B", _core_text)
        self.pages = 0

    def add(self, ticket: Mapping[str, str | None]) -> None:
        self.pdf.add_page()
        _draw_ticket(self.pdf, self.font, ticket)
        self.pages += 1

    def output(self) -> bytes:
        if not self.pages:
            raise ValueError("no ticket")
        return bytes(self.pdf.output())


def _same(text: str) -> str:
    return text


def _draw_ticket(
    pdf: FPDF,
    font: tuple[str, str, Callable[[str], str]],
    ticket: Mapping[str, str | None],
) -> None:
    family, bold, clean = font
    width = _PAGE_W - 2 * _MARGIN
    pdf.set_xy(_MARGIN, _MARGIN)
    pdf.set_font(family, bold, 15)
    event = str(ticket["event"])
    pdf.multi_cell(width, 6.5, clean(event), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(family, "", 11)
    start = str(ticket["session_start"])
    pdf.cell(width, 6, clean(start), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    qr_y = max(pdf.get_y() + 3, 26.0)
    _draw_qr(pdf, str(ticket["code"]), (_PAGE_W - _QR_SIZE) / 2, qr_y, _QR_SIZE)
    pdf.set_xy(_MARGIN, qr_y + _QR_SIZE + 3)

    fields: list[tuple[str, str]] = [("Room", str(ticket["room"]))]
    if ticket.get("row"):
        fields.append(("Row", str(ticket["row"])))
    fields.append(("Seat", ticket.get("seat") or "Unreserved"))
    fields.append(("Tariff", str(ticket["tariff"])))
    if ticket.get("holder"):
        fields.append(("Holder", str(ticket["holder"])))
    for label, value in fields:
        pdf.set_font(family, "", 8)
        pdf.cell(18, 6, label.upper())
        pdf.set_font(family, bold, 11)
        pdf.multi_cell(width - 18, 6, clean(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.set_font(family, "", 6.5)
    pdf.set_xy(_MARGIN, _PAGE_H - _MARGIN - 4)
    pdf.cell(width, 4, "Show this QR code at the door. Do not share it.", align="C")
