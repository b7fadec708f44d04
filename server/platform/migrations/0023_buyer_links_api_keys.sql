-- "My tickets" (docs/payments.md): a buyer asks for a sign-in link by e-mail and sees all
-- the orders of that address. A link is `<id>.<mac>`: the MAC (HMAC-SHA256 with the
-- server's link secret over the id and this row's random nonce) is never stored, so the
-- table alone opens nothing. It lasts until `expires_at` (short) unless revoked first.
CREATE TABLE buyer_links (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL CHECK (email = lower(email)),
    nonce       bytea NOT NULL CHECK (length(nonce) = 16),
    site_url    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX orders_buyer_email ON orders (lower(buyer_email)) WHERE buyer_email IS NOT NULL;

-- The mail outbox carries sign-in links too: a mail is either an order's or a link's.
ALTER TABLE mails ALTER COLUMN order_id DROP NOT NULL;
ALTER TABLE mails ADD COLUMN buyer_link_id bigint UNIQUE REFERENCES buyer_links(id);
ALTER TABLE mails ADD CONSTRAINT mails_one_subject
    CHECK ((order_id IS NULL) <> (buyer_link_id IS NULL));

-- API keys of the organiser's websites (docs/website-api.md). Only the SHA-256 of a key is
-- kept (a key is 256 random bits: a fast hash is enough); `prefix` (its first characters)
-- lets an admin tell keys apart. `origins`: the websites' origins allowed by CORS (and as
-- frame ancestors of the embedded seat picker); `rate_per_minute`: requests a minute.
CREATE TABLE api_keys (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL,
    prefix           text NOT NULL,
    key_hash         bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    origins          text[] NOT NULL DEFAULT '{}',
    rate_per_minute  integer NOT NULL CHECK (rate_per_minute BETWEEN 1 AND 100000),
    created_by       bigint REFERENCES users(id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    revoked_at       timestamptz
);
