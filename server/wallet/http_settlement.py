"""HTTP handlers of the festival's end: balances left, refunds, donations, breakage
(docs/wallet.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.identity.actors import actor_of
from server.identity.permissions import Permission
from server.platform.db import connection
from server.platform.errors import Conflict
from server.wallet import schemas
from server.wallet.holders import claims_of, holder_of
from server.wallet.settlement import Settlement
from server.web.api import PUBLIC, Operations
from server.web.requests import body_as, page, path_id

OPERATIONS = Operations()
TAGS = ("wallet",)
READ = (Permission.ACCOUNTING_READ, Permission.REGISTERS_MANAGE)
SETTLE_REFUSALS = {409: ("wallet_closed", "nothing_left")}


def _settlement(request: Request) -> Settlement:
    settlement: Settlement = request.app.state.settlement
    return settlement


@OPERATIONS.get(
    "/api/wallet-settlement", tags=TAGS, permission=READ, responses={200: schemas.Leftovers}
)
async def leftovers(request: Request) -> JSONResponse:
    """Wallets with money left, largest first: to the card that topped them up when card
    top-ups cover the balance (`refund_to: card`), else a bank transfer (`transfer`)."""
    p = page(request)
    rows = await _settlement(request).left(p.limit + 1, p.offset)
    return JSONResponse(p.body("wallets", rows))


@OPERATIONS.post(
    "/api/wallets/{wallet_id:int}/settlement",
    tags=TAGS,
    permission=Permission.ADMIN,
    body=schemas.SettleIn,
    responses={201: schemas.Settled},
    errors={404: ("not_found",), **SETTLE_REFUSALS},
)
async def settle(request: Request) -> JSONResponse:
    """Pay a wallet's whole balance back (`card` or `transfer`) or book it as breakage;
    the wallet is closed."""
    body = await body_as(request, schemas.SettleIn)
    principal = request.state.principal
    done = await _settlement(request).settle(
        path_id(request, "wallet_id"),
        body.how,
        body.idempotency_key,
        principal.user_id,
        actor_of(request),
    )
    return JSONResponse(done, status_code=201)


@OPERATIONS.post(
    "/api/wallet/donation",
    tags=TAGS,
    permission=PUBLIC,
    body=schemas.DonationIn,
    responses={201: schemas.Settled},
    errors={
        400: ("invalid_code",),
        404: ("unknown_code",),
        409: ("code_replaced", "no_wallet", *SETTLE_REFUSALS[409]),
    },
)
async def donate(request: Request) -> JSONResponse:
    """The holder gives what is left on their wallet to the festival (the code is the
    key); the wallet is closed."""
    body = await body_as(request, schemas.DonationIn)
    state = request.app.state
    claims = await claims_of(state.keys, body.code)
    async with connection(state.pool) as conn:
        holder = await holder_of(conn, claims)
        wallet_id = await conn.fetchval(
            f"SELECT id FROM wallets WHERE {holder.column} = $1", holder.id
        )
    if wallet_id is None:
        raise Conflict("no_wallet", "nothing was ever put on this wallet")
    done = await _settlement(request).settle(
        wallet_id, "donation", body.idempotency_key, None, actor_of(request)
    )
    return JSONResponse(done, status_code=201)


@OPERATIONS.post(
    "/api/wallet-breakage",
    tags=TAGS,
    permission=Permission.ADMIN,
    body=schemas.BreakageIn,
    responses={200: schemas.Breakage},
)
async def breakage(request: Request) -> JSONResponse:
    """Book as breakage every balance left on a wallet not used since `unused_since`
    (the deadline the festival announced)."""
    body = await body_as(request, schemas.BreakageIn)
    done = await _settlement(request).breakage(
        body.unused_since,
        body.idempotency_key,
        request.state.principal.user_id,
        actor_of(request),
    )
    return JSONResponse(done)
