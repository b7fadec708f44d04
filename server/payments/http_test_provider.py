"""The TEST provider's hosted page (``/pay/test/{id}``): a tester chooses what the
"payment" does. Only on a server whose provider is ``test``; no money ever moves."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from server.payments.schemas import TestPaymentId
from server.payments.test_provider import TestProvider
from server.platform.errors import Invalid, NotFound
from server.web.api import PUBLIC, Operations, Param
from server.web.requests import read_body

OPERATIONS = Operations()
TAGS = ("payments",)
REF = Param("payment_id", TestPaymentId, "path", required=True)

_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Paiement de TEST · TEST payment</title><link rel="stylesheet" href="/style.css"></head>
<body><main class="test-payment" data-testid="test-payment" data-status="{status}">
<p class="test-banner" data-testid="test-banner"><strong lang="fr">Prestataire de TEST :
aucun argent n'est débité.</strong> <strong lang="en">TEST provider: no money is
taken.</strong></p>
<h1><span lang="fr">Paiement</span> · <span lang="en">Payment</span></h1>
<p data-testid="test-amount">{amount} {currency}</p>
<p><span lang="fr">Référence</span> · <span lang="en">Reference</span>: {reference}</p>
{body}
</main></body></html>
"""
_CHOICES = """<form method="post">
<button name="choice" value="success" data-testid="pay-success">
Paiement accepté · Payment succeeds</button>
<button name="choice" value="failure" data-testid="pay-failure">
Paiement refusé · Payment fails</button>
<button name="choice" value="abandon" data-testid="pay-abandon">
Abandonner · Abandon</button>
</form>"""
_DONE = """<p data-testid="test-done"><span lang="fr">Déjà choisi</span> · <span lang="en">Already
chosen</span>: {status}. <a href="{back}">Retour · Back</a></p>"""


def _provider(request: Request) -> TestProvider:
    if not re.fullmatch("tp_[A-Za-z0-9_-]{16}", request.path_params["payment_id"]):
        raise Invalid("invalid_payment_id", "malformed test payment id")
    provider = request.app.state.payments.configured
    if not isinstance(provider, TestProvider):
        raise NotFound("payments_off", "this server has no test payment provider")
    return provider


@OPERATIONS.get(
    "/pay/test/{payment_id}",
    tags=TAGS,
    permission=PUBLIC,
    params=(REF,),
    responses={200: {"text/html": None}},
    errors={400: ("invalid_payment_id",), 404: ("unknown_payment", "payments_off")},
)
async def test_page(request: Request) -> HTMLResponse:
    """The test provider's hosted page (French and English): succeed, fail or abandon."""
    row = await _provider(request).page(request.path_params["payment_id"])
    body = (
        _CHOICES
        if row["status"] == "open"
        else _DONE.format(status=row["status"], back=html.escape(row["return_url"]))
    )
    page = _PAGE.format(
        status=row["status"],
        amount=f"{row['amount_cents'] / 100:.2f}",
        currency=html.escape(row["currency"]),
        reference=html.escape(row["reference"]),
        body=body,
    )
    return HTMLResponse(page, headers={"cache-control": "no-store"})


@OPERATIONS.post(
    "/pay/test/{payment_id}",
    tags=TAGS,
    permission=PUBLIC,
    params=(REF,),
    responses={303: {"text/html": None}},
    errors={
        400: ("invalid_choice", "invalid_payment_id"),
        404: ("unknown_payment", "payments_off"),
    },
)
async def test_choose(request: Request) -> RedirectResponse:
    """The tester's choice (form field `choice`: `success`, `failure` or `abandon`): the
    test provider signs a webhook, posts it to Guichet and sends the buyer back (303)."""
    form = parse_qs((await read_body(request, 1024)).decode("utf-8", "replace"))
    choice = (form.get("choice") or [""])[0]
    back = await _provider(request).choose(request.path_params["payment_id"], choice)
    return RedirectResponse(back, status_code=303)
