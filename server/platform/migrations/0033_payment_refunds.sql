-- Guichet schema, version 33: money back for tickets of a paid e-shop order refunded one by
-- one at the back office (server/payments/part_refunds.py, docs/payments.md).
--
-- A ticket refund (the door's, or the accounting page's button) already revokes the code,
-- frees the seat and shows a negative e-shop line in the statements; the buyer's money now
-- follows. In the refund's transaction, each paid order whose tickets are refunded owes its
-- payment a part refund: one row, `due`. After the commit the refunding process asks the
-- provider; a failure, or a process that dies in between, leaves the row `due` for the
-- refund worker of any process. The row's id is the provider's idempotency key, so a retry
-- after a lost answer never refunds twice.

CREATE TABLE payment_refunds (
    id           bigserial PRIMARY KEY,
    payment_id   bigint NOT NULL REFERENCES payments(id),
    amount_cents integer NOT NULL CHECK (amount_cents > 0),
    currency     char(3) NOT NULL,
    ticket_ids   bigint[] NOT NULL CHECK (cardinality(ticket_ids) >= 1),
    status       text NOT NULL DEFAULT 'due' CHECK (status IN ('due', 'refunded')),
    refund_ref   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    refunded_at  timestamptz,
    CHECK ((status = 'refunded') = (refund_ref IS NOT NULL AND refunded_at IS NOT NULL))
);
CREATE INDEX payment_refunds_due ON payment_refunds (id) WHERE status = 'due';
CREATE INDEX payment_refunds_payment ON payment_refunds (payment_id);

-- The TEST provider refunds in parts too, once per idempotency key.
ALTER TABLE test_payments ADD COLUMN refunded_cents integer NOT NULL DEFAULT 0
    CHECK (refunded_cents >= 0 AND refunded_cents <= amount_cents);
UPDATE test_payments SET refunded_cents = amount_cents WHERE status = 'refunded';
CREATE TABLE test_refunds (
    id           text PRIMARY KEY,
    key          text NOT NULL UNIQUE,
    payment      text NOT NULL REFERENCES test_payments(id),
    amount_cents integer NOT NULL CHECK (amount_cents > 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);
