"""An on-sale rush against a Guichet deployment.

    locust -f loadtests/locustfile.py --host http://guichet.example.org

Buyers (``Buyer``, locust's FastHttpUser) hold small groups of seats in a contended block
at the front of the hall and buy most of what they get; refusals (409 ``seats_taken``) are
the expected outcome of contention and are reported under their own name, not as failures.
Viewers (``Viewer``) watch the seat map over the WebSocket (``websockets`` sync client) and
report every frame as a ``WS`` event, with the delay since the seat change it announces
when the viewer can tell (``delta`` frames carry no timestamps, so it is the gap between
frames instead).

Environment: ``GUICHET_SESSION`` picks the session (default: the first seated session with
sales open); ``GUICHET_HOT_SEATS`` the size of the contended block (default 400).
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from typing import Any

from locust import User, between, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopTest
from websockets.sync.client import connect

HOT_SEATS = int(os.environ.get("GUICHET_HOT_SEATS", "400"))
_session_cache: dict[str, Any] = {}


def _pick_session(client: Any) -> dict[str, Any]:
    """The session under test and its seat ids, fetched once per process."""
    if _session_cache:
        return _session_cache
    wanted = os.environ.get("GUICHET_SESSION")
    if wanted:
        session_id = int(wanted)
    else:
        sessions = client.get("/api/sessions", name="/api/sessions").json()
        open_ = [s for s in sessions if s.get("sales_open") and s.get("seated")]
        if not open_:
            raise RuntimeError("no seated session with sales open; set GUICHET_SESSION")
        session_id = open_[0]["id"]
    detail = client.get(f"/api/sessions/{session_id}", name="/api/sessions/[id]").json()
    seat_map = client.get(
        f"/api/sessions/{session_id}/seat-map", name="/api/sessions/[id]/seat-map"
    ).json()
    _session_cache.update(
        id=session_id,
        tariffs=[t["id"] for t in detail.get("tariffs", [])],
        seats=[s[0] for s in seat_map["seats"]],
    )
    return _session_cache


class Buyer(FastHttpUser):
    """Holds 1-4 adjacent seats of the contended block, buys 80% of its holds."""

    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.session = _pick_session(self.client)

    @task
    def hold_and_buy(self) -> None:
        seats = self.session["seats"]
        hot = min(HOT_SEATS, len(seats))
        size = random.randint(1, 4)
        start = random.randrange(max(hot - size, 1))
        wanted = seats[start : start + size]
        sid = self.session["id"]
        with self.client.post(
            f"/api/sessions/{sid}/holds",
            json={"seats": wanted},
            name="hold",
            catch_response=True,
        ) as r:
            if r.status_code == 409:
                r.success()
                events.request.fire(
                    request_type="POST",
                    name="hold refused (seats_taken)",
                    response_time=r.request_meta["response_time"],
                    response_length=0,
                    exception=None,
                    context={},
                )
                return
            if r.status_code != 200:
                r.failure(f"hold: {r.status_code}")
                return
            token = r.json()["token"]
        if random.random() > 0.8 or not self.session["tariffs"]:
            self.client.delete(f"/api/sessions/{sid}/holds/{token}", name="release")
            return
        tariff = self.session["tariffs"][0]
        self.client.post(
            f"/api/sessions/{sid}/orders",
            json={
                "hold_token": token,
                "idempotency_key": uuid.uuid4().hex,
                "items": [{"seat": s, "tariff_id": tariff} for s in wanted],
                "buyer": {"name": "Locust", "email": "locust@example.org"},
            },
            name="order",
        )


class Viewer(User):
    """Watches the seat map: one WebSocket, subscribed to ``seats:<id>``."""

    wait_time = between(0, 0.1)
    weight = 3

    def on_start(self) -> None:
        from locust.clients import HttpSession

        if self.host is None:
            raise StopTest("the base host is required (--host)")
        http = HttpSession(base_url=self.host, request_event=events.request, user=self)
        self.session = _pick_session(http)
        ws_url = self.host.replace("http", "ws", 1).rstrip("/") + "/ws"
        t0 = time.perf_counter()
        self.ws = connect(ws_url, subprotocols=["guichet.json"], open_timeout=10)  # type: ignore[list-item]
        self.ws.send(json.dumps({"type": "subscribe", "channel": f"seats:{self.session['id']}"}))
        self.last = time.perf_counter()
        self._fire("connect+subscribe", (self.last - t0) * 1000, 0)

    def on_stop(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()

    def _fire(self, name: str, ms: float, length: int, exc: Exception | None = None) -> None:
        events.request.fire(
            request_type="WS",
            name=name,
            response_time=ms,
            response_length=length,
            exception=exc,
            context={},
        )

    @task
    def receive(self) -> None:
        try:
            raw = self.ws.recv(timeout=5)
        except TimeoutError:
            return
        except Exception as exc:
            self._fire("recv", 0, 0, exc)
            raise
        now = time.perf_counter()
        message = json.loads(raw)
        self._fire(message.get("type", "?"), (now - self.last) * 1000, len(raw))
        self.last = now
