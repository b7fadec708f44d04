"""The back office's role list (static/roles-text.js) names exactly the server's roles, each
explained in French and in English: a role added on the server cannot go missing on the page."""

from __future__ import annotations

import re

from server.identity.roles import ALL_ROLES
from tests.support import ROOT


def test_the_pages_know_every_role_in_both_languages() -> None:
    text = (ROOT / "static" / "roles-text.js").read_text(encoding="utf-8")
    listed = re.search(r"export const ROLES = \[(.*?)\];", text, re.S)
    assert listed is not None
    assert set(re.findall(r'"([^"]+)"', listed.group(1))) == ALL_ROLES
    for language in ("fr", "en"):
        block = re.search(rf"\n  {language}: \{{(.*?)\n  \}}", text, re.S)
        assert block is not None, language
        assert set(re.findall(r'"role\.([^"]+)":', block.group(1))) == ALL_ROLES, language
