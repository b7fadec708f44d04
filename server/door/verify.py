"""Verifying many ticket codes: Ed25519 verification is CPU-bound (about 0.2 ms a code on
a small machine) and holds the GIL, so a large offline upload is verified in a pool of
worker processes, off the event loop; small batches are verified inline."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from scanning.codes import CodeError, TicketClaims, verify_code

Verified = TicketClaims | CodeError
INLINE_MAX = 500
_pool: ProcessPoolExecutor | None = None
WORKERS = max(os.cpu_count() or 1, 1)


def verify_one(code: str, public_keys: dict[int, bytes]) -> Verified:
    try:
        return verify_code(code, public_keys)
    except CodeError as exc:
        return exc


def _verify_chunk(
    codes: Sequence[str], public_keys: dict[int, bytes]
) -> list[TicketClaims | tuple[str, str]]:
    out: list[TicketClaims | tuple[str, str]] = []
    for code in codes:
        result = verify_one(code, public_keys)
        out.append((result.reason, result.detail) if isinstance(result, CodeError) else result)
    return out


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: a worker whose server died (even by SIGKILL) exits too."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _workers() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            max_workers=WORKERS, initializer=_exit_with_parent, initargs=(os.getpid(),)
        )
    return _pool


def shutdown_workers() -> None:
    """Stop the verification processes (the app's shutdown): none outlives the server."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


async def verify_many(codes: Sequence[str], public_keys: dict[int, bytes]) -> list[Verified]:
    if len(codes) <= INLINE_MAX:
        return [verify_one(code, public_keys) for code in codes]
    pool = _workers()
    size = -(-len(codes) // WORKERS)
    loop = asyncio.get_running_loop()
    chunks = await asyncio.gather(
        *(
            loop.run_in_executor(pool, _verify_chunk, codes[i : i + size], public_keys)
            for i in range(0, len(codes), size)
        )
    )
    return [
        CodeError(item[0], item[1]) if isinstance(item, tuple) else item  # type: ignore[arg-type]
        for chunk in chunks
        for item in chunk
    ]
