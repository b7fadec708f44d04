-- Reservations paid at the desk (docs/cash.md, "Reservations at the desk"): the order turns
-- into a sale (orders.kind) and its journal entry is named here, with the idempotency key of
-- the payment, so a retry replays the receipt and a second payment is refused. One row per
-- order: an order is paid once.
CREATE TABLE reservation_payments (
    order_id            bigint PRIMARY KEY REFERENCES orders(id),
    idempotency_key     text NOT NULL UNIQUE,
    fingerprint         text NOT NULL,  -- of the request, to refuse a different one
    register_session_id bigint NOT NULL REFERENCES register_sessions(id),
    journal_id          bigint NOT NULL REFERENCES journal(id),
    paid_by             bigint NOT NULL REFERENCES users(id),
    paid_at             timestamptz NOT NULL DEFAULT now()
);

-- Finding a reservation at the desk by its buyer's name.
CREATE INDEX orders_reservations ON orders (created_at DESC) WHERE kind = 'reservation';
