"""HTTP handlers of wallets: the holder's view, top-ups at a register, debits at a bar,
offline allowances and uploads, corrections (docs/wallet.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.cash.http import SESSION_REFUSALS
from server.cash.journal import PaymentDraft
from server.identity.actors import actor_of
from server.identity.auth import Principal
from server.identity.permissions import Permission
from server.platform.errors import Forbidden, Invalid
from server.wallet import schemas
from server.wallet.bars import bars
from server.wallet.offline import OfflineBar, overdrafts
from server.wallet.service import Debit, Wallets
from server.web.api import PUBLIC, Operations
from server.web.requests import body_as, page, path_id

OPERATIONS = Operations()
TAGS = ("wallet",)
BAR = (Permission.WALLET_DEBIT, Permission.BAR_SELL)
CODE_REFUSALS = {
    400: ("invalid_code",),
    404: ("unknown_code",),
    409: ("code_replaced",),
}
HISTORY = 50


def _wallets(request: Request) -> Wallets:
    wallets: Wallets = request.app.state.wallets
    return wallets


def _user(request: Request) -> int:
    """The caller's user id: wallets are worked by signed-in staff, not devices."""
    principal: Principal = request.state.principal
    if principal.user_id is None or principal.user_id < 0:
        raise Forbidden("user_required", "a signed-in user works the wallets")
    return principal.user_id


@OPERATIONS.post(
    "/api/wallet",
    tags=TAGS,
    permission=PUBLIC,
    body=schemas.LookupIn,
    responses={200: schemas.Wallet},
    errors=CODE_REFUSALS,
)
async def look_up(request: Request) -> JSONResponse:
    """The wallet a pass's or ticket's code opens: holder, balance and last movements. The
    code is the key (it is on the holder's ticket), so anyone holding it may look; it is
    sent in the body, never in a URL that logs keep."""
    body = await body_as(request, schemas.LookupIn)
    return JSONResponse(await _wallets(request).look(body.code, HISTORY))


@OPERATIONS.post(
    "/api/wallets/top-ups",
    tags=TAGS,
    permission=Permission.WALLET_CREDIT,
    body=schemas.TopUpIn,
    responses={201: schemas.Moved, 200: schemas.Moved},
    errors={
        **CODE_REFUSALS,
        400: ("invalid_code", "invalid_amount", "invalid_payment", "invalid_given"),
        403: ("user_required", *SESSION_REFUSALS[403]),
        409: ("code_replaced", "holder_not_active", "wallet_blocked", *SESSION_REFUSALS[409]),
        422: ("idempotency_key_mismatch",),
    },
)
async def top_up(request: Request) -> JSONResponse:
    """Put money on a wallet (opened by its first top-up), paid in cash or by card at the
    caller's open register session: a `wallet_topup` journal entry and a ledger
    transaction from the cash or card account, in one transaction. A retry with the same
    key answers 200 with the first top-up."""
    body = await body_as(request, schemas.TopUpIn)
    payment = PaymentDraft(body.method, body.amount_cents)
    if body.given_cents is not None:
        if body.method != "cash" or body.given_cents < body.amount_cents:
            raise Invalid("invalid_given", "'given_cents' is for cash, at least the amount")
        change = body.given_cents - body.amount_cents
        payment = PaymentDraft(body.method, body.amount_cents, body.given_cents, change)
    answer, created = await _wallets(request).top_up(
        body.idempotency_key,
        body.code,
        body.amount_cents,
        payment,
        body.register_session_id,
        _user(request),
        actor_of(request),
    )
    return JSONResponse(answer, status_code=201 if created else 200)


@OPERATIONS.post(
    "/api/wallets/debits",
    tags=TAGS,
    permission=BAR,
    body=schemas.DebitIn,
    responses={201: schemas.Moved, 200: schemas.Moved},
    errors={
        400: ("invalid_code", "invalid_amount", "currency_mismatch", "amount_or_articles"),
        403: ("user_required",),
        404: ("unknown_code", "unknown_article"),
        409: (
            "code_replaced",
            "insufficient_balance",
            "wallet_blocked",
            "no_wallet",
            "not_a_bar",
            "out_of_stock",
            "article_inactive",
            "article_not_here",
        ),
        422: ("idempotency_key_mismatch",),
    },
)
async def debit(request: Request) -> JSONResponse:
    """Debit a wallet at a bar: the bar's articles or a free amount. Refused, and nothing
    changes, when the balance does not cover it (`insufficient_balance` with the balance),
    the wallet is blocked, or the code is unknown. A `wallet_debit` journal entry at the
    bar's register and the ledger transaction to the bar's account, in one transaction."""
    body = await body_as(request, schemas.DebitIn)
    if (body.articles is None) == (body.amount_cents is None):
        raise Invalid("amount_or_articles", "send either 'articles' or 'amount_cents'")
    wanted: dict[int, int] = {}
    for a in body.articles or ():
        wanted[a.article_id] = wanted.get(a.article_id, 0) + a.quantity
    d = Debit(
        key=body.idempotency_key,
        code=body.code,
        register_id=body.register_id,
        articles=wanted,
        amount_cents=body.amount_cents or 0,
        tax_rate_bp=body.tax_rate_bp,
    )
    answer, created = await _wallets(request).debit(d, _user(request))
    return JSONResponse(answer, status_code=201 if created else 200)


@OPERATIONS.get("/api/bars", tags=TAGS, permission=BAR, responses={200: schemas.Bars})
async def list_bars(request: Request) -> JSONResponse:
    """The registers of bar points of sale, each with the articles it sells."""
    return JSONResponse({"bars": await bars(request.app.state.pool)})


@OPERATIONS.post(
    "/api/bars/{register_id:int}/allowance",
    tags=TAGS,
    permission=BAR,
    body=schemas.AllowanceIn,
    responses={200: schemas.AllowanceOut},
    errors={400: ("not_a_bar",), 403: ("user_required",)},
)
async def allowance(request: Request) -> JSONResponse:
    """A signed offline allowance for this user, device and bar: what the device may
    debit from one wallet per period while offline (docs/wallet.md)."""
    body = await body_as(request, schemas.AllowanceIn)
    offline: OfflineBar = request.app.state.offline_bar
    register_id = path_id(request, "register_id")
    return JSONResponse(await offline.allowance(_user(request), body.device, register_id))


@OPERATIONS.post(
    "/api/bars/{register_id:int}/offline-debits",
    tags=TAGS,
    permission=BAR,
    body=schemas.UploadIn,
    responses={200: schemas.UploadOut},
    errors={400: ("invalid_allowance",), 403: ("user_required", "not_your_allowance")},
)
async def upload(request: Request) -> JSONResponse:
    """The debits a bar served offline, with the allowance they were served under. Each
    is applied whatever the balance (an overdraft is recorded, not lost), once per key;
    one result per debit (`applied`, `replayed`, or `refused` with a code)."""
    body = await body_as(request, schemas.UploadIn)
    offline: OfflineBar = request.app.state.offline_bar
    debits = [
        {
            "key": d.idempotency_key,
            "code": d.code,
            "amount_cents": d.amount_cents,
            "tax_rate_bp": d.tax_rate_bp,
            "taken_at": d.taken_at,
        }
        for d in body.debits
    ]
    results = await offline.upload(
        _user(request), body.allowance, path_id(request, "register_id"), debits
    )
    return JSONResponse({"results": results})


@OPERATIONS.get(
    "/api/wallet-overdrafts",
    tags=TAGS,
    permission=(Permission.ACCOUNTING_READ, Permission.REGISTERS_MANAGE),
    responses={200: schemas.Overdrafts},
)
async def list_overdrafts(request: Request) -> JSONResponse:
    """Offline debits that left a wallet below zero, for the organiser to settle."""
    limit = page(request).limit
    return JSONResponse({"overdrafts": await overdrafts(request.app.state.pool, limit)})


@OPERATIONS.post(
    "/api/wallet-transactions/{transaction_id:int}/reversal",
    tags=TAGS,
    permission=Permission.ADMIN,
    body=schemas.ReversalIn,
    responses={201: schemas.Reversed, 200: schemas.Reversed},
    errors={
        404: ("not_found",),
        409: ("already_reversed", "not_reversible", "insufficient_balance"),
        422: ("idempotency_key_mismatch",),
    },
)
async def reverse(request: Request) -> JSONResponse:
    """An admin's correction: a new transaction that moves the amount back (at most once
    per transaction; never an edit)."""
    body = await body_as(request, schemas.ReversalIn)
    answer, created = await _wallets(request).reverse(
        body.idempotency_key,
        path_id(request, "transaction_id"),
        body.reason,
        _user(request),
        actor_of(request),
    )
    return JSONResponse(answer, status_code=201 if created else 200)


@OPERATIONS.patch(
    "/api/wallets/{wallet_id:int}",
    tags=TAGS,
    permission=Permission.ADMIN,
    body=schemas.StatusIn,
    responses={200: schemas.WalletStatus},
    errors={404: ("not_found",)},
)
async def set_status(request: Request) -> JSONResponse:
    """Block a wallet (a lost ticket) or make it active again."""
    body = await body_as(request, schemas.StatusIn)
    return JSONResponse(
        await _wallets(request).set_status(
            path_id(request, "wallet_id"), body.status, actor_of(request)
        )
    )
