-- The shop's cart (docs/shop.md): seats and places of several sessions, passes and articles
-- bought together with one hold countdown, one order and one payment.

-- What the organiser offers in the shop besides tickets.
ALTER TABLE pass_types ADD COLUMN sold_online boolean NOT NULL DEFAULT false;
ALTER TABLE articles ADD COLUMN sold_online boolean NOT NULL DEFAULT false;

-- A cart: its id is the buyer's bearer token (128 random bits), like a hold token. Its
-- holds live in Redis, one per session, each touching only its session's keys; the cart
-- gives them one expiry (`expires_at`), never past `cap_at`. Postgres learns of a hold
-- before Redis makes it, so every hold a cart may have is named here; a hold Redis never
-- made, or one the cart forgot, simply expires with its TTL (the sweeper).
-- Once expired (and not checked out), any process's cart janitor releases every hold of
-- the cart and sets `released_at`.
CREATE TABLE carts (
    id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{16,64}$'),
    ttl_ms       integer NOT NULL CHECK (ttl_ms > 0),
    expires_at   timestamptz NOT NULL,
    cap_at       timestamptz NOT NULL,
    order_id     bigint UNIQUE REFERENCES orders(id),
    released_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_at <= cap_at)
);
CREATE INDEX carts_to_release ON carts (expires_at)
    WHERE order_id IS NULL AND released_at IS NULL;

-- A session of the cart: its hold token and the chosen lines ([{seat, tariff}], seat null
-- for a general-admission place).
CREATE TABLE cart_sessions (
    cart_id     text NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    session_id  bigint NOT NULL REFERENCES sessions(id),
    hold_token  text NOT NULL,
    lines       jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (cart_id, session_id)
);

-- Passes (one line each, with its holder) and articles (one line per article, a quantity).
CREATE TABLE cart_products (
    id                 bigserial PRIMARY KEY,
    cart_id            text NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    pass_type_id       bigint REFERENCES pass_types(id),
    article_id         bigint REFERENCES articles(id),
    quantity           integer NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    holder_first_name  text,
    holder_last_name   text,
    photo              text,
    CHECK ((pass_type_id IS NULL) <> (article_id IS NULL)),
    CHECK (pass_type_id IS NULL OR (quantity = 1 AND holder_first_name IS NOT NULL
                                    AND holder_last_name IS NOT NULL))
);
CREATE UNIQUE INDEX cart_one_line_per_article ON cart_products (cart_id, article_id)
    WHERE article_id IS NOT NULL;

-- A cart's order spans sessions: its tickets name theirs, the order names none. Its `lines`
-- are {"tickets": [...], "passes": [...], "articles": [...]}, each with its price, tax rate,
-- net and tax snapshotted.
ALTER TABLE orders ALTER COLUMN session_id DROP NOT NULL;
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_kind_check;
ALTER TABLE orders ADD CONSTRAINT orders_kind_check
    CHECK (kind IN ('sale', 'reservation', 'pass', 'cart'));
ALTER TABLE orders ADD CONSTRAINT orders_session_unless_cart
    CHECK (session_id IS NOT NULL OR kind = 'cart');

-- The passes and articles a paid cart order delivered, price and tax per line.
CREATE TABLE order_products (
    id           bigserial PRIMARY KEY,
    order_id     bigint NOT NULL REFERENCES orders(id),
    pass_id      bigint REFERENCES passes(id),
    article_id   bigint REFERENCES articles(id),
    description  text NOT NULL,
    quantity     integer NOT NULL CHECK (quantity > 0),
    unit_cents   bigint NOT NULL CHECK (unit_cents >= 0),
    tax_rate_bp  integer NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    net_cents    bigint NOT NULL,
    tax_cents    bigint NOT NULL,
    gross_cents  bigint NOT NULL,
    CHECK ((pass_id IS NULL) <> (article_id IS NULL)),
    CHECK (net_cents + tax_cents = gross_cents)
);
CREATE INDEX order_products_of_order ON order_products (order_id);
