"""Reading the PDFs the server draws (fpdf2, compressed streams), for the tests."""

from __future__ import annotations

import re
import zlib


def pdf_text(pdf: bytes) -> bytes:
    """Raw PDF bytes plus every inflated stream, to search for drawn text.

    A decompressor object stops at the end of the zlib data, so the end-of-line before
    ``endstream`` (or a compressed stream whose last byte happens to be ``\\r``) can
    neither break nor hide it."""
    chunks = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompressobj().decompress(match.group(1)))
        except zlib.error:
            chunks.append(match.group(1))
    return b"\n".join(chunks)


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))
