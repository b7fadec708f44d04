"""The fan-out baseline: a bare ``websockets`` server broadcasting ~200-byte text frames.

Run as a subprocess: ``python -m loadtests.baseline_ws PORT``. It prints ``ready`` once
listening, then obeys lines on stdin: ``go SECONDS`` broadcasts as fast as the clients
drain (``websockets.broadcast`` has no back-pressure, so it pauses while the write buffers
hold more than 16 KiB per client on average) and prints one JSON line of figures;
``quit`` exits. It stops by itself after 10 minutes.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve

CLIENTS: set[ServerConnection] = set()
FRAME = json.dumps(
    {"type": "delta", "channel": "seats:1", "epoch": "0", "seq": 0, "changes": [[1, 1]], "pad": ""},
    separators=(",", ":"),
)
FRAME = FRAME.replace('"pad":""', '"pad":"' + "x" * (200 - len(FRAME)) + '"')


async def handler(ws: ServerConnection) -> None:
    CLIENTS.add(ws)
    try:
        await ws.wait_closed()
    finally:
        CLIENTS.discard(ws)


def _buffered(conns: list[ServerConnection]) -> int:
    return sum(c.transport.get_write_buffer_size() for c in conns)


async def broadcast_for(seconds: float) -> dict[str, Any]:
    conns = list(CLIENTS)
    limit = 16384 * max(len(conns), 1)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    end = t0 + seconds
    rounds = 0
    while time.monotonic() < end:
        broadcast(conns, FRAME)
        rounds += 1
        await asyncio.sleep(0)
        if rounds % 4 == 0:
            while _buffered(conns) > limit and time.monotonic() < end:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
    elapsed = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {
        "clients": len(conns),
        "rounds": rounds,
        "frames_written": rounds * len(conns),
        "seconds": elapsed,
        "frames_per_s_written": rounds * len(conns) / elapsed,
        "frame_bytes": len(FRAME),
        "cpu_s": cpu,
    }


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    async with serve(handler, "127.0.0.1", port, compression=None, backlog=4096, max_size=2**16):
        print("ready", flush=True)
        stop_at = time.monotonic() + 600
        while time.monotonic() < stop_at:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or line.strip() == "quit":
                return
            cmd, *args = line.split()
            if cmd == "go":
                print(json.dumps(await broadcast_for(float(args[0]))), flush=True)
            elif cmd == "count":
                print(json.dumps({"clients": len(CLIENTS)}), flush=True)


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main(int(sys.argv[1])))
