-- Online payment of shop orders (docs/payments.md). An order of the shop with a total is
-- 'pending' until its payment is confirmed: its seats and prices wait in `lines` and its
-- tickets are only inserted then, in the transaction that confirms it (so every read of
-- tickets, at the door, in reports, in refunds, sees paid tickets only). Every order
-- before this migration, and every desk or free order, is 'confirmed'. 'refunded': paid
-- after its seats were gone, so the payment was given back automatically.
ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'confirmed'
    CHECK (status IN ('pending', 'confirmed', 'failed', 'refunded'));
ALTER TABLE orders ADD COLUMN lines jsonb;
CREATE INDEX orders_pending ON orders (created_at) WHERE status = 'pending';

-- One payment per pending order, at one provider. `provider_ref` is the provider's id,
-- set once the provider created it. 'refund_due': the money came but the seats were gone;
-- the refund worker asks the provider until it is 'refunded'.
CREATE TABLE payments (
    id            bigserial PRIMARY KEY,
    order_id      bigint NOT NULL UNIQUE REFERENCES orders(id),
    provider      text NOT NULL,
    provider_ref  text,
    redirect_url  text,
    amount_cents  integer NOT NULL CHECK (amount_cents > 0),
    currency      char(3) NOT NULL,
    status        text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'succeeded', 'failed', 'abandoned', 'refund_due', 'refunded')),
    refund_ref    text,
    site_url      text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_ref)
);
CREATE INDEX payments_refund_due ON payments (id) WHERE status = 'refund_due';

-- Every webhook event taken into account, once: a second delivery finds its row.
CREATE TABLE payment_events (
    provider     text NOT NULL,
    event_id     text NOT NULL,
    payment_id   bigint NOT NULL REFERENCES payments(id),
    kind         text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

-- The built-in test provider's own book (it plays the provider's side): what a tester
-- chose on its hosted page. Never used by a real provider.
CREATE TABLE test_payments (
    id            text PRIMARY KEY,
    amount_cents  integer NOT NULL,
    currency      char(3) NOT NULL,
    reference     text NOT NULL,
    return_url    text NOT NULL,
    webhook_url   text NOT NULL,
    status        text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'succeeded', 'failed', 'abandoned', 'refunded')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- E-mails to send, written in the transaction that makes them due (an outbox): any
-- process's mail worker sends them, retries with a growing delay, and records the outcome.
CREATE TABLE mails (
    id               bigserial PRIMARY KEY,
    order_id         bigint NOT NULL REFERENCES orders(id),
    kind             text NOT NULL,
    recipient        text NOT NULL,
    site_url         text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'skipped', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    sent_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, kind)
);
CREATE INDEX mails_due ON mails (next_attempt_at) WHERE status = 'pending';
