"""Failpoints: named places in the code where a test makes the process pause, fail or die,
to prove what happens in the window between two steps (e.g. after a Postgres commit and
before Redis learns of it).

Only tests set them, through the environment of a server process
(``GUICHET_FAILPOINTS="sales.after_commit=exit,sales.ga_checked=sleep:100"``) or, in
process, with :func:`configure`. Unset, a failpoint costs one dict lookup.

Actions: ``sleep:<ms>`` pauses, ``error`` raises :class:`FailpointError`, ``exit`` ends the
process at once (``os._exit``: no cleanup, like a ``kill -9``). A guard named by
:func:`switched_off` (``name=off``) is skipped: a race test's control shows what it prevents.
"""

from __future__ import annotations

import asyncio
import os

ENV = "GUICHET_FAILPOINTS"


class FailpointError(RuntimeError):
    """Raised by a failpoint set to ``error``."""


def parse(spec: str) -> dict[str, str]:
    points: dict[str, str] = {}
    for item in spec.split(","):
        name, _, action = item.strip().partition("=")
        if name:
            points[name] = action or "error"
    return points


_active: dict[str, str] = parse(os.environ.get(ENV, ""))


def configure(spec: str) -> None:
    """Replace the active failpoints (tests running the code in process)."""
    global _active
    _active = parse(spec)


def switched_off(name: str) -> bool:
    """Whether a test switched this guard off (``name=off``)."""
    return _active.get(name) == "off"


async def failpoint(name: str) -> None:
    action = _active.get(name)
    if action is None:
        return
    if action.startswith("sleep:"):
        await asyncio.sleep(int(action[len("sleep:") :]) / 1000)
    elif action == "exit":
        os._exit(137)
    else:
        raise FailpointError(name)
