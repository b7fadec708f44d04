"""WebSocket viewers for the fan-out bench: picows clients in several processes.

Each process runs its own event loop with its share of the clients and obeys commands
from the bench over a pipe (connect, reset, stats, close). A shared array holds, per seat
index, the instant (``time.monotonic()``, system-wide on Linux) the bench sent the request
that changed the seat, so each client measures the end-to-end latency of every change it
receives. Latencies go to a 1 ms histogram; continuity of ``from``/``seq`` proves that no
change was missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import re
import resource
import time
from collections.abc import Sequence
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

HIST_MS = 20_000
# The viewers run niced: on a small machine the scheduler would otherwise share the CPUs
# fairly between the one server process and the several load-generator processes, and
# starve the server. Niced, they only get what the server leaves.
LOADGEN_NICE = 10
# One viewer in SAMPLE measures the latency of every change it gets (a Python loop per
# change); the others only check continuity and count changes from the delta's head and
# separators, without parsing its JSON, which keeps the load generator cheap (its CPU per
# frame is what bounded the measured p99 on two shared cores). Every viewer still proves
# it missed nothing.
SAMPLE = 10  # histogram bins of 1 ms; the last bin collects everything slower


class Stats:
    __slots__ = ("bytes", "changes", "foreign", "frames", "gaps", "hist", "resyncs", "snapshots")

    def __init__(self) -> None:
        self.frames = 0
        self.bytes = 0
        self.changes = 0
        self.gaps = 0
        self.resyncs = 0
        self.snapshots = 0
        self.foreign = 0
        self.hist = [0] * HIST_MS


class Viewer(WSListener):
    """One subscriber: keeps its position, measures latency of held-seat changes."""

    def __init__(self, owner: Worker, sampled: bool = True) -> None:
        self.owner = owner
        self.sampled = sampled
        self.transport: WSTransport | None = None
        self.epoch = ""
        self.seq = 0
        self.changes = 0
        self.snapshot_at = 0.0
        self.snapshot_epoch = ""
        self.sold = -1
        self.got_snapshot: asyncio.Future[None] | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.owner.disconnected += 1

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        owner = self.owner
        st = owner.stats
        st.frames += 1
        st.bytes += frame.payload_size
        if owner.baseline:
            return
        payload = frame.get_payload_as_bytes()
        if not self.sampled and self._counted(payload, st):
            return
        msg = json.loads(payload)
        kind = msg["type"]
        if kind == "delta":
            if msg["epoch"] != self.epoch:
                st.foreign += 1
                return
            if msg["seq"] <= self.seq:
                return  # already applied (e.g. held back behind a snapshot)
            if msg["from"] > self.seq + 1:
                st.gaps += 1
            self.seq = msg["seq"]
            changes = msg["changes"]
            sent = owner.sent
            if not self.sampled or sent is None:
                n = len(changes)
            else:
                now = time.monotonic()
                hist = st.hist
                n = 0
                for idx, state in changes:
                    if state == 1:
                        t = sent[idx]
                        if t > 0:
                            ms = int((now - t) * 1000)
                            hist[ms if ms < HIST_MS else HIST_MS - 1] += 1
                    n += 1
            self.changes += n
            st.changes += n
        elif kind == "snapshot":
            st.snapshots += 1
            self.epoch, self.seq = msg["epoch"], msg["seq"]
            self.sold = msg["sold"]
            if msg["epoch"] != self.snapshot_epoch:
                self.snapshot_epoch = msg["epoch"]
                self.snapshot_at = time.monotonic()
            if self.got_snapshot is not None and not self.got_snapshot.done():
                self.got_snapshot.set_result(None)
        elif kind == "resync":
            st.resyncs += 1

    def _counted(self, payload: bytes, st: Stats) -> bool:
        """A delta read from its head alone (the server writes its keys in a fixed order):
        epoch, from, seq, and the changes counted by their separators, with no JSON
        parsing. What is not such a delta (snapshots, resyncs) is parsed in full."""
        head = DELTA_HEAD.match(payload)
        if head is None:
            return False
        epoch, first, seq = head.group(1).decode(), int(head.group(2)), int(head.group(3))
        if epoch != self.epoch:
            st.foreign += 1
            return True
        if seq <= self.seq:
            return True
        if first > self.seq + 1:
            st.gaps += 1
        self.seq = seq
        start = head.end()
        n = 0
        if payload[start : start + 1] != b"]":
            n = payload.count(b"],[", start, payload.index(b"]]", start)) + 1
        self.changes += n
        st.changes += n
        return True


DELTA_HEAD = re.compile(
    rb'\{"type":"delta","channel":"[^"]*","epoch":"([^"]*)","from":(\d+),"seq":(\d+),"changes":\['
)


class Worker:
    def __init__(self, sent: Any, baseline: bool) -> None:
        self.sent = memoryview(sent).cast("B").cast("d") if sent is not None else None
        self.baseline = baseline
        self.stats = Stats()
        self.viewers: list[Viewer] = []
        self.disconnected = 0
        self.cpu_mark = 0.0

    async def connect(
        self, url: str, n: int, channel: str | None, concurrency: int = 32, limit_s: float = 90
    ) -> dict[str, Any]:
        t0 = time.monotonic()
        deadline = t0 + limit_s
        sem = asyncio.Semaphore(concurrency)
        errors: list[str] = []
        loop = asyncio.get_running_loop()

        async def one() -> None:
            async with sem:
                if time.monotonic() > deadline:
                    return
                viewer: Viewer | None = None

                def factory() -> Viewer:
                    nonlocal viewer
                    viewer = Viewer(self, sampled=len(self.viewers) % SAMPLE == 0)
                    return viewer

                try:
                    await ws_connect(
                        factory,
                        url,
                        extra_headers={"Sec-WebSocket-Protocol": "guichet.json"},
                        websocket_handshake_timeout=20,
                    )
                except Exception as exc:
                    if len(errors) < 5:
                        errors.append(repr(exc))
                    return
                assert viewer is not None
                self.viewers.append(viewer)
                if channel is not None and viewer.transport is not None:
                    viewer.got_snapshot = loop.create_future()
                    viewer.transport.send(
                        WSMsgType.TEXT,
                        json.dumps(
                            {"type": "subscribe", "channel": channel, "format": "runs"}
                        ).encode(),
                    )
                    try:
                        await asyncio.wait_for(
                            viewer.got_snapshot, max(deadline - time.monotonic(), 0.1)
                        )
                    except TimeoutError:
                        if len(errors) < 5:
                            errors.append("no snapshot")

        await asyncio.gather(*(one() for _ in range(n)))
        return {
            "connected": len(self.viewers),
            "subscribed": sum(1 for v in self.viewers if v.epoch),
            "errors": errors,
            "seconds": time.monotonic() - t0,
        }

    def reset(self) -> dict[str, Any]:
        self.stats = Stats()
        for v in self.viewers:
            v.changes = 0
        self.cpu_mark = _cpu()
        return {}

    def stats_reply(self) -> dict[str, Any]:
        st = self.stats
        per_client = [v.changes for v in self.viewers]
        return {
            "frames": st.frames,
            "bytes": st.bytes,
            "changes": st.changes,
            "gaps": st.gaps,
            "resyncs": st.resyncs,
            "snapshots": st.snapshots,
            "foreign": st.foreign,
            "hist": {i: c for i, c in enumerate(st.hist) if c},
            "min_client_changes": min(per_client) if per_client else 0,
            "clients": len(self.viewers),
            "disconnected": self.disconnected,
            "cpu_s": _cpu() - self.cpu_mark,
        }

    def resync_reply(self, after: float) -> dict[str, Any]:
        times = [v.snapshot_at - after for v in self.viewers if v.snapshot_at > after]
        return {
            "resynced": len(times),
            "max_s": max(times) if times else None,
            "clients": len(self.viewers),
            "sold": sorted({v.sold for v in self.viewers if v.snapshot_at > after}),
            "epochs": len({v.snapshot_epoch for v in self.viewers}),
        }

    def close(self) -> None:
        for v in self.viewers:
            if v.transport is not None:
                v.transport.disconnect()


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _serve(conn: Any, sent: Any, baseline: bool) -> None:
    worker = Worker(sent, baseline)
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: inbox.put_nowait(conn.recv()))
    while True:
        cmd, kwargs = await inbox.get()
        if cmd == "connect":
            reply = await worker.connect(**kwargs)
        elif cmd == "reset":
            reply = worker.reset()
        elif cmd == "stats":
            reply = worker.stats_reply()
        elif cmd == "resync":
            reply = worker.resync_reply(**kwargs)
        elif cmd == "close":
            worker.close()
            await asyncio.sleep(0.5)
            conn.send({})
            return
        else:
            reply = {"error": f"unknown command {cmd}"}
        conn.send(reply)


def _main(conn: Any, sent: Any, baseline: bool) -> None:
    from loadtests.env import raise_nofile

    raise_nofile()
    os.nice(LOADGEN_NICE)
    asyncio.run(_serve(conn, sent, baseline))


class ViewerPool:
    """``processes`` processes of viewers, driven synchronously from the bench."""

    def __init__(self, processes: int, sent: Any = None, baseline: bool = False) -> None:
        ctx = mp.get_context("fork")
        self.pipes = []
        self.procs = []
        for _ in range(processes):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_main, args=(child, sent, baseline), daemon=True)
            p.start()
            self.pipes.append(parent)
            self.procs.append(p)

    def call(
        self,
        cmd: str,
        timeout: float = 120,
        per_proc: Sequence[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        for i, pipe in enumerate(self.pipes):
            pipe.send((cmd, per_proc[i] if per_proc else kwargs))
        replies = []
        deadline = time.monotonic() + timeout
        for pipe in self.pipes:
            if not pipe.poll(max(deadline - time.monotonic(), 0.01)):
                raise TimeoutError(f"viewer process did not answer {cmd!r}")
            replies.append(pipe.recv())
        return replies

    def connect(self, url: str, total: int, channel: str | None) -> dict[str, Any]:
        n = len(self.pipes)
        shares = [total // n + (1 if i < total % n else 0) for i in range(n)]
        replies = self.call(
            "connect", per_proc=[{"url": url, "n": s, "channel": channel} for s in shares]
        )
        return {
            "connected": sum(r["connected"] for r in replies),
            "subscribed": sum(r["subscribed"] for r in replies),
            "errors": [e for r in replies for e in r["errors"]][:5],
            "seconds": max(r["seconds"] for r in replies),
        }

    def stats(self) -> dict[str, Any]:
        replies = self.call("stats")
        hist: dict[int, int] = {}
        for r in replies:
            for k, v in r["hist"].items():
                hist[k] = hist.get(k, 0) + v
        out = {
            k: sum(r[k] for r in replies)
            for k in (
                "frames",
                "bytes",
                "changes",
                "gaps",
                "resyncs",
                "snapshots",
                "foreign",
                "clients",
                "disconnected",
                "cpu_s",
            )
        }
        out["min_client_changes"] = min(r["min_client_changes"] for r in replies)
        out["hist"] = hist
        return out

    def close(self) -> None:
        with contextlib.suppress(TimeoutError, OSError, EOFError):
            self.call("close", timeout=20)
        for p in self.procs:
            p.join(5)
            if p.is_alive():
                p.terminate()


def percentile(hist: dict[int, int], p: float) -> float | None:
    total = sum(hist.values())
    if not total:
        return None
    rank = p / 100 * total
    seen = 0
    for ms in sorted(hist):
        seen += hist[ms]
        if seen >= rank:
            return float(ms)
    return float(max(hist))
