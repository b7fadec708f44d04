"""HTTP handlers of article families, articles and restocking (docs/cash.md, "Articles")."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.articles import schemas
from server.articles.catalogue import ArticleCatalogue
from server.identity.actors import actor_of
from server.identity.permissions import Permission
from server.web.api import Id, Operations, Param
from server.web.requests import body_as, path_id, query_id, sent_fields

OPERATIONS = Operations()
TAGS = ("articles",)
MANAGE = Permission.CATALOG_MANAGE
READ = (Permission.SELL, Permission.CATALOG_MANAGE)


def _catalogue(request: Request) -> ArticleCatalogue:
    catalogue: ArticleCatalogue = request.app.state.articles
    return catalogue


@OPERATIONS.post(
    "/api/article-families",
    tags=TAGS,
    permission=MANAGE,
    body=schemas.FamilyIn,
    responses={201: schemas.Family},
    errors={409: ("family_exists",)},
)
async def create_family(request: Request) -> JSONResponse:
    """A family of articles (a tab of the point of sale: bar, shop…)."""
    body = await body_as(request, schemas.FamilyIn)
    family = await _catalogue(request).create_family(body.name, actor_of(request))
    return JSONResponse(family, status_code=201)


@OPERATIONS.get(
    "/api/article-families", tags=TAGS, permission=READ, responses={200: schemas.Families}
)
async def list_families(request: Request) -> JSONResponse:
    """Every family, by name."""
    return JSONResponse({"families": await _catalogue(request).families()})


@OPERATIONS.patch(
    "/api/article-families/{family_id:int}",
    tags=TAGS,
    permission=MANAGE,
    body=schemas.FamilyIn,
    responses={200: schemas.Family},
    errors={409: ("family_exists",)},
)
async def rename_family(request: Request) -> JSONResponse:
    """Rename a family."""
    body = await body_as(request, schemas.FamilyIn)
    family = await _catalogue(request).rename_family(
        path_id(request, "family_id"), body.name, actor_of(request)
    )
    return JSONResponse(family)


@OPERATIONS.post(
    "/api/articles",
    tags=TAGS,
    permission=MANAGE,
    body=schemas.ArticleIn,
    responses={201: schemas.Article},
    errors={404: ("unknown_family", "unknown_point_of_sale")},
)
async def create_article(request: Request) -> JSONResponse:
    """An article: price (gross cents), tax rate, stock (left out: not counted), alert
    threshold, whether the stock may go below zero, and optionally the one point of
    sale that sells it."""
    body = await body_as(request, schemas.ArticleIn)
    article = await _catalogue(request).create(msgspec.structs.asdict(body), actor_of(request))
    return JSONResponse(article, status_code=201)


@OPERATIONS.get(
    "/api/articles",
    tags=TAGS,
    permission=READ,
    params=(
        Param("point_of_sale_id", Id, description="only the articles sold there"),
        Param("family_id", Id, description="only this family's"),
        Param("all", str, description="`1`: inactive articles too"),
    ),
    responses={200: schemas.Articles},
)
async def list_articles(request: Request) -> JSONResponse:
    """Articles by family and name, with their stock and alert flag."""
    rows = await _catalogue(request).articles(
        query_id(request, "point_of_sale_id", required=False),
        query_id(request, "family_id", required=False),
        request.query_params.get("all") != "1",
    )
    return JSONResponse({"articles": rows})


@OPERATIONS.patch(
    "/api/articles/{article_id:int}",
    tags=TAGS,
    permission=MANAGE,
    body=schemas.ArticlePatch,
    responses={200: schemas.Article},
    errors={404: ("unknown_family", "unknown_point_of_sale"), 409: ("stock_below_zero",)},
)
async def edit_article(request: Request) -> JSONResponse:
    """Change an article (the fields sent). Its stock changes only by restocking, sales
    and refunds; journalled sales keep the price and tax rate they were sold at."""
    body = await body_as(request, schemas.ArticlePatch)
    changes = sent_fields(body)
    article = await _catalogue(request).edit(
        path_id(request, "article_id"), changes, actor_of(request)
    )
    return JSONResponse(article)


@OPERATIONS.post(
    "/api/articles/{article_id:int}/stock",
    tags=TAGS,
    permission=MANAGE,
    body=schemas.RestockIn,
    responses={200: schemas.Article},
    errors={409: ("not_counted", "stock_below_zero")},
)
async def restock_article(request: Request) -> JSONResponse:
    """Change the stock by a signed `delta` with a reason (a delivery, breakage, a count),
    recorded in the audit log (`article.restock`). Below zero only with `allow_negative`
    (409 `stock_below_zero`); an article whose stock is not counted: 409 `not_counted`."""
    body = await body_as(request, schemas.RestockIn)
    article = await _catalogue(request).restock(
        path_id(request, "article_id"), body.delta, body.reason, actor_of(request)
    )
    return JSONResponse(article)
