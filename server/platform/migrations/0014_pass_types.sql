-- Guichet schema, version 14: pass types sold at the cash desk (docs/passes.md).

-- A pass type is a product an organiser defines: a name, a gross price with its tax rate,
-- and what a pass of the type may attend: every session starting within a validity period
-- (valid_from/valid_until), or the sessions listed (session_ids); at most max_sessions of
-- them when set. An inactive type is not sold; a type is never deleted.
CREATE TABLE pass_types (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    price_cents  bigint NOT NULL CHECK (price_cents >= 0),
    currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    tax_rate_bp  integer NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    valid_from   timestamptz,
    valid_until  timestamptz,
    session_ids  bigint[] NOT NULL DEFAULT '{}',
    max_sessions integer CHECK (max_sessions > 0),
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((valid_from IS NULL) = (valid_until IS NULL)),
    CHECK (valid_until > valid_from),
    -- a period or a set of sessions, never both, never neither
    CHECK ((valid_from IS NOT NULL) <> (cardinality(session_ids) > 0))
);

-- A pass sold from a type names it; the holder's first and last names are kept apart
-- (holder_name stays the name shown and scanned: "first last").
ALTER TABLE passes
    ADD COLUMN pass_type_id      bigint REFERENCES pass_types(id),
    ADD COLUMN holder_first_name text,
    ADD COLUMN holder_last_name  text;
CREATE INDEX passes_type ON passes (pass_type_id) WHERE pass_type_id IS NOT NULL;
CREATE INDEX passes_holder ON passes (lower(holder_name) text_pattern_ops);

-- The journal line of a pass sold (and of its refund). The hash chain covers it: a pass
-- line is encoded with twelve elements (till/chain.py), so older lines hash as before.
ALTER TABLE journal_lines ADD COLUMN pass_id bigint REFERENCES passes(id);
CREATE INDEX journal_lines_pass ON journal_lines (pass_id) WHERE pass_id IS NOT NULL;

-- A pass sale's idempotency key, claimed first in its transaction (as article_sales).
CREATE TABLE pass_sales (
    idempotency_key     text PRIMARY KEY,
    register_session_id bigint NOT NULL REFERENCES register_sessions(id),
    fingerprint         text NOT NULL,
    journal_id          bigint REFERENCES journal(id),
    pass_id             bigint REFERENCES passes(id),
    created_at          timestamptz NOT NULL DEFAULT now()
);
