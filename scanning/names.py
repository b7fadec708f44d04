"""Names a scanner sends: door names (also device names) and scan nonces."""

from __future__ import annotations

import re

DOOR_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,40}", re.ASCII)
NONCE = re.compile(r"[A-Za-z0-9_.\-]{8,64}", re.ASCII)


def is_door_name(name: str) -> bool:
    """1-40 ASCII letters, digits, ``_``, ``.`` or ``-``."""
    return DOOR_NAME.fullmatch(name) is not None


def is_nonce(nonce: str) -> bool:
    """8-64 ASCII letters, digits, ``_``, ``.`` or ``-``."""
    return NONCE.fullmatch(nonce) is not None
