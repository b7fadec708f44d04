-- Articles sold at the cash desk (drinks, programmes, merchandise), in families, with a
-- counted stock that a sale decrements in its own transaction (docs/cash.md, "Articles").

CREATE TABLE article_families (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE articles (
    id               bigserial PRIMARY KEY,
    family_id        bigint NOT NULL REFERENCES article_families(id),
    name             text NOT NULL,
    price_cents      bigint NOT NULL CHECK (price_cents >= 0),
    currency         text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    tax_rate_bp      integer NOT NULL DEFAULT 0 CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    active           boolean NOT NULL DEFAULT true,
    -- NULL: sold everywhere; else only at this point of sale.
    point_of_sale_id bigint REFERENCES points_of_sale(id),
    -- NULL: not counted (sold without limit).
    stock            integer,
    -- NULL: no alert; else the alert is on while stock <= alert_at.
    alert_at         integer CHECK (alert_at >= 0),
    allow_negative   boolean NOT NULL DEFAULT false,
    -- Moves with every change of stock or alert, so a client keeps the newest value
    -- whatever order the live messages arrive in.
    stock_version    bigint NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT articles_stock_not_negative CHECK (stock >= 0 OR allow_negative)
);
CREATE INDEX articles_of_point_of_sale ON articles (point_of_sale_id);

-- A journal line of an article names it (ticket lines name their ticket and tariff).
ALTER TABLE journal_lines ADD COLUMN article_id bigint REFERENCES articles(id);
ALTER TABLE journal_lines ADD CONSTRAINT journal_line_one_subject
    CHECK (ticket_id IS NULL OR article_id IS NULL);
CREATE INDEX journal_lines_article ON journal_lines (article_id) WHERE article_id IS NOT NULL;

-- The idempotency keys of article sales: a replay returns the first entry.
CREATE TABLE article_sales (
    idempotency_key     text PRIMARY KEY,
    register_session_id bigint NOT NULL REFERENCES register_sessions(id),
    fingerprint         text NOT NULL,  -- of the request, to refuse a different one
    journal_id          bigint REFERENCES journal(id),
    created_at          timestamptz NOT NULL DEFAULT now()
);
