"""One case table for the hold-token clock, run against both implementations of its rules.

``seatmap.holds.HoldClock`` is the pure statement of the rules; the Lua scripts behind
``server.seating.live.Live`` are what production runs. Each case is a list of operations with the
outcome the rules require (``now+ttl``, ``kept``, ``cap``, ``now+grace`` or ``refused``);
the model must produce that outcome and the Lua scripts must produce the model's clock.

Time is moved forward by rewriting the token's stored clock (every timestamp minus the
wait), the same for the model: no sleeping. The scripts read Redis' own ``TIME``, so each
operation is bracketed by two ``TIME`` reads and the Lua result must lie between the
model's results at those two instants (every rule is monotonic in ``now``).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aredis

from seatmap.holds import CLAIM_GRACE_MS, HoldClock
from server.platform.redis_client import Client
from server.seating.live import HoldRefused, Keys, Live, SessionFacts
from tests.support import free_port

TTL = 10_000
CAP = 30_000
SESSION = 1
SEATS = 1000

Op = tuple[Any, ...]

# (name, operations). Operations:
#   ("hold", ttl, cap, outcome)   new token holding one seat
#   ("add", ttl, cap, outcome)    the same token holds one more seat
#   ("extend", ttl, outcome)
#   ("claim", outcome)            an order is being committed
#   ("wait", ms)
CASES: list[tuple[str, list[Op]]] = [
    ("a new hold runs for ttl", [("hold", TTL, CAP, "now+ttl")]),
    ("a ttl longer than the cap raises the cap to it", [("hold", 40_000, CAP, "cap")]),
    (
        "adding seats never resets the clock",
        [("hold", TTL, CAP, "now+ttl"), ("wait", 4_000), ("add", TTL, CAP, "kept")],
    ),
    (
        "adding seats with another ttl keeps the clock too",
        [("hold", TTL, CAP, "now+ttl"), ("wait", 1_000), ("add", 2 * TTL, CAP, "kept")],
    ),
    (
        "adding seats to an expired hold is refused",
        [("hold", TTL, CAP, "now+ttl"), ("wait", TTL + 1), ("add", TTL, CAP, "refused")],
    ),
    (
        "extend moves the expiry to now+ttl",
        [("hold", TTL, CAP, "now+ttl"), ("wait", 4_000), ("extend", TTL, "now+ttl")],
    ),
    (
        "extend never shortens a hold",
        [("hold", TTL, CAP, "now+ttl"), ("wait", 1_000), ("extend", 2_000, "kept")],
    ),
    (
        "extend stops at the cap",
        [
            ("hold", TTL, CAP, "now+ttl"),
            ("wait", 8_000),
            ("extend", TTL, "now+ttl"),
            ("wait", 8_000),
            ("extend", TTL, "now+ttl"),
            ("wait", 8_000),
            ("extend", TTL, "cap"),
            ("wait", 1_000),
            ("extend", TTL, "kept"),
        ],
    ),
    (
        "extend of an expired hold is refused",
        [("hold", TTL, CAP, "now+ttl"), ("wait", TTL + 1), ("extend", TTL, "refused")],
    ),
    (
        "a hold expired at its cap cannot be extended",
        [
            ("hold", TTL, CAP, "now+ttl"),
            ("wait", 9_000),
            ("extend", TTL, "now+ttl"),
            ("wait", 9_000),
            ("extend", TTL, "now+ttl"),
            ("wait", 9_000),
            ("extend", TTL, "cap"),
            ("wait", 3_001),
            ("extend", TTL, "refused"),
        ],
    ),
    (
        "a claim keeps the hold alive for the grace period",
        [("hold", TTL, CAP, "now+ttl"), ("wait", 5_000), ("claim", "now+grace")],
    ),
    (
        "a claim never shortens a hold",
        [("hold", 50_000, 60_000, "now+ttl"), ("claim", "kept")],
    ),
    (
        "a claim of an expired hold is refused",
        [("hold", TTL, CAP, "now+ttl"), ("wait", TTL + 1), ("claim", "refused")],
    ),
]


def outcome(before: HoldClock, after: HoldClock | None, now: int, ttl: int | None) -> str:
    """How the rules moved the expiry; ``ttl`` is None for a claim."""
    if after is None:
        return "refused"
    if after.expires_ms == before.expires_ms and before.expires_ms != 0:
        return "kept"
    if after.expires_ms == after.cap_ms:
        return "cap"
    if ttl is None and after.expires_ms == now + CLAIM_GRACE_MS:
        return "now+grace"
    if after.expires_ms == now + (ttl or 0):
        return "now+ttl"
    return f"unexpected expiry now{after.expires_ms - now:+d}"


def model_step(clock: HoldClock, op: Op, now: int) -> tuple[HoldClock | None, int | None]:
    """The model's clock after ``op`` at ``now`` (None when refused), and the ttl used."""
    kind = op[0]
    if clock.expired(now):
        return None, None
    if kind == "add":
        return clock, op[1]
    if kind == "extend":
        return clock.extended(now, op[1]), op[1]
    if kind == "claim":
        return clock.claimed(now), None
    raise AssertionError(op)


@pytest.fixture(scope="module")
def private_redis() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.kill()
        proc.wait()


@pytest.fixture
async def live(private_redis: str) -> AsyncIterator[Live]:
    client = aredis.Redis.from_url(private_redis)
    await client.flushdb()

    async def loader(session_id: int) -> SessionFacts:
        return SessionFacts(session_id, SEATS, SEATS, 0, (), ())

    yield Live(client, loader)
    await client.aclose()


async def redis_now(client: Client) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def stored_clock(live: Live, token: str) -> HoldClock:
    tok, _ = Keys(SESSION).token(token)
    created, expires, cap = await live.redis.hmget(tok, "created", "exp", "cap")
    assert created is not None and expires is not None and cap is not None, "no such hold"
    return HoldClock(int(created), int(expires), int(cap))


async def travel(live: Live, token: str, ms: int) -> None:
    """Move the token ``ms`` into the future: every stored timestamp goes back by ``ms``."""
    k = Keys(SESSION)
    tok, _ = k.token(token)
    for name in ("created", "exp", "cap"):
        await live.redis.hincrby(tok, name, -ms)
    await live.redis.zincrby(k.exp, -ms, token)


async def lua_step(live: Live, op: Op, token: str, seat: int) -> HoldClock | None:
    try:
        if op[0] == "add":
            await live.hold(SESSION, token, [seat], 0, op[1], op[2])
        elif op[0] == "extend":
            await live.extend(SESSION, token, op[1])
        elif op[0] == "claim":
            await live.claim(SESSION, token, [], 0, "order-key")
    except HoldRefused as exc:
        assert exc.reason == "hold_expired", exc.reason
        return None
    return await stored_clock(live, token)


@pytest.mark.parametrize(("name", "ops"), CASES, ids=[c[0] for c in CASES])
async def test_model_and_lua_follow_the_case_table(live: Live, name: str, ops: list[Op]) -> None:
    index = CASES.index((name, ops))
    token = f"rules-token-{index:04d}-xxxxxxxx"
    seats = iter(range(index * 20, index * 20 + 20))
    kind, ttl, cap, expected = ops[0]
    assert kind == "hold"
    before = await redis_now(live.redis)
    _, expires = await live.hold(SESSION, token, [next(seats)], 0, ttl, cap)
    lua = await stored_clock(live, token)
    assert before <= lua.created_ms <= await redis_now(live.redis)
    model = HoldClock.start(lua.created_ms, ttl, cap)
    assert lua == model, name
    assert expires == model.expires_ms
    assert outcome(HoldClock(0, 0, 0), model, lua.created_ms, ttl) == expected, name

    for step, op in enumerate(ops[1:], 1):
        where = f"{name}, step {step} {op}"
        if op[0] == "wait":
            await travel(live, token, op[1])
            model = HoldClock(
                model.created_ms - op[1], model.expires_ms - op[1], model.cap_ms - op[1]
            )
            assert await stored_clock(live, token) == model, where
            continue
        expected = op[-1]
        t0 = await redis_now(live.redis)
        got = await lua_step(live, op, token, next(seats))
        t1 = await redis_now(live.redis)
        early, ttl_used = model_step(model, op, t0)
        late, _ = model_step(model, op, t1)
        # The case table states the rule; the model must follow it at both instants.
        assert outcome(model, early, t0, ttl_used) == expected, where
        assert outcome(model, late, t1, ttl_used) == expected, where
        if early is None or late is None:
            assert got is None, f"{where}: Lua accepted what the model refuses"
            assert await stored_clock(live, token) == model, f"{where}: refused yet changed"
            continue
        assert got is not None, f"{where}: Lua refused what the model accepts"
        assert (got.created_ms, got.cap_ms) == (model.created_ms, model.cap_ms), where
        assert early.expires_ms <= got.expires_ms <= late.expires_ms, where
        assert got.expires_ms <= got.cap_ms or op[0] == "claim", where
        model = got


async def test_the_sweeper_script_expires_exactly_the_due_tokens(live: Live) -> None:
    """holds_expire agrees with HoldClock.expired: due tokens go, the others stay."""
    await live.hold(SESSION, "due-token-xxxxxxxxxx", [900], 0, TTL, CAP)
    await live.hold(SESSION, "alive-token-xxxxxxxx", [901], 0, TTL, CAP)
    await travel(live, "due-token-xxxxxxxxxx", TTL + 1)
    now = await redis_now(live.redis)
    assert (await stored_clock(live, "due-token-xxxxxxxxxx")).expired(now)
    assert not (await stored_clock(live, "alive-token-xxxxxxxx")).expired(now)
    assert await live.expire_due(SESSION) == 1
    seats = await live.redis.hgetall(Keys(SESSION).seats)
    assert seats == {b"901": b"halive-token-xxxxxxxx"}
    with pytest.raises(HoldRefused):
        await live.hold_info(SESSION, "due-token-xxxxxxxxxx")
    snap = await live.snapshot(SESSION)
    assert snap.held == 1
