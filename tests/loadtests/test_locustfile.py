"""The locust scenario imports cleanly and defines its user classes.

Importing locust monkey-patches the standard library with gevent, so the import happens in
a child interpreter, never in the test process (whose other tests run on asyncio).
"""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT

CHECK = """
from locust import User
from locust.contrib.fasthttp import FastHttpUser
from loadtests import locustfile
assert issubclass(locustfile.Buyer, FastHttpUser)
assert issubclass(locustfile.Viewer, User)
print("ok")
"""


def test_locustfile_defines_buyers_and_viewers() -> None:
    r = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().endswith("ok")
