-- The cash desk: registers, register sessions (a cashier's shift at one register) and the
-- append-only journal of every money movement, with gap-free receipt numbers and a hash
-- chain per register (docs/cash.md).

CREATE TABLE registers (
    id               bigserial PRIMARY KEY,
    point_of_sale_id bigint NOT NULL REFERENCES points_of_sale(id),
    name             text NOT NULL,
    currency         text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    -- Counters taken under this row's lock in the transaction that uses them, so a
    -- rollback gives the number back (a SEQUENCE would leave a gap).
    next_receipt     bigint NOT NULL DEFAULT 1 CHECK (next_receipt >= 1),
    next_z           bigint NOT NULL DEFAULT 1 CHECK (next_z >= 1),
    -- The hash of the last journal entry (32 zero bytes before the first).
    head_hash        bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'
                     CHECK (length(head_hash) = 32),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (point_of_sale_id, name)
);

CREATE TABLE register_sessions (
    id               bigserial PRIMARY KEY,
    register_id      bigint NOT NULL REFERENCES registers(id),
    cashier_id       bigint NOT NULL REFERENCES users(id),
    currency         text NOT NULL,
    opened_at        timestamptz NOT NULL DEFAULT now(),
    opening_counted  jsonb NOT NULL,           -- {"<denomination cents>": count}
    opening_cents    bigint NOT NULL CHECK (opening_cents >= 0),
    handed_over_from bigint REFERENCES register_sessions(id),
    closed_at        timestamptz,
    closed_by        bigint REFERENCES users(id),
    counted          jsonb,
    counted_cents    bigint CHECK (counted_cents >= 0),
    expected_cents   bigint,
    difference_cents bigint,
    z_number         bigint,
    z_hash           bytea,
    UNIQUE (register_id, z_number),
    CONSTRAINT register_session_closed CHECK (
        (closed_at IS NULL) = (z_number IS NULL)
        AND (closed_at IS NULL) = (counted_cents IS NULL)
        AND (closed_at IS NULL) = (difference_cents IS NULL)
    )
);
CREATE UNIQUE INDEX register_sessions_one_open_per_register
    ON register_sessions (register_id) WHERE closed_at IS NULL;
CREATE UNIQUE INDEX register_sessions_one_open_per_cashier
    ON register_sessions (cashier_id) WHERE closed_at IS NULL;
CREATE INDEX register_sessions_of_register ON register_sessions (register_id, opened_at);

CREATE TABLE journal (
    id                  bigserial PRIMARY KEY,
    register_id         bigint NOT NULL REFERENCES registers(id),
    receipt_no          bigint NOT NULL CHECK (receipt_no >= 1),
    register_session_id bigint NOT NULL REFERENCES register_sessions(id),
    cashier_id          bigint NOT NULL REFERENCES users(id),
    kind                text NOT NULL CHECK (kind IN ('sale', 'refund', 'float', 'credit',
                        'debit', 'credit_error', 'debit_error', 'closing_difference')),
    created_at          timestamptz NOT NULL,
    currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Signed, as the entry moves the register's takings: a refund or a debit is negative.
    total_cents         bigint NOT NULL,
    net_cents           bigint NOT NULL,
    tax_cents           bigint NOT NULL,
    order_id            bigint REFERENCES orders(id),
    reverses_id         bigint REFERENCES journal(id),
    reason              text,
    prev_hash           bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash                bytea NOT NULL CHECK (length(hash) = 32),
    UNIQUE (register_id, receipt_no),
    CHECK (net_cents + tax_cents = total_cents)
);
CREATE INDEX journal_of_session ON journal (register_session_id, receipt_no);
CREATE INDEX journal_of_order ON journal (order_id) WHERE order_id IS NOT NULL;

CREATE TABLE journal_lines (
    journal_id       bigint NOT NULL REFERENCES journal(id),
    line_no          integer NOT NULL CHECK (line_no >= 1),
    ticket_id        bigint REFERENCES tickets(id),
    tariff_id        bigint,
    description      text NOT NULL,
    quantity         integer NOT NULL CHECK (quantity <> 0),
    unit_gross_cents bigint NOT NULL CHECK (unit_gross_cents >= 0),
    tax_rate_bp      integer NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    net_cents        bigint NOT NULL,
    tax_cents        bigint NOT NULL,
    gross_cents      bigint NOT NULL,
    currency         text NOT NULL,
    PRIMARY KEY (journal_id, line_no),
    CHECK (net_cents + tax_cents = gross_cents),
    CHECK (gross_cents = quantity * unit_gross_cents)
);
CREATE INDEX journal_lines_ticket ON journal_lines (ticket_id) WHERE ticket_id IS NOT NULL;

CREATE TABLE journal_payments (
    journal_id   bigint NOT NULL REFERENCES journal(id),
    line_no      integer NOT NULL CHECK (line_no >= 1),
    method       text NOT NULL CHECK (method IN ('cash', 'card')),
    amount_cents bigint NOT NULL,
    given_cents  bigint CHECK (given_cents >= 0),
    change_cents bigint CHECK (change_cents >= 0),
    currency     text NOT NULL,
    PRIMARY KEY (journal_id, line_no),
    CHECK ((given_cents IS NULL) = (change_cents IS NULL)),
    CHECK (given_cents IS NULL OR (method = 'cash' AND given_cents - change_cents = amount_cents))
);

CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER journal_no_change BEFORE UPDATE OR DELETE ON journal
FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_lines_no_change BEFORE UPDATE OR DELETE ON journal_lines
FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_lines_no_truncate BEFORE TRUNCATE ON journal_lines
FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_payments_no_change BEFORE UPDATE OR DELETE ON journal_payments
FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_payments_no_truncate BEFORE TRUNCATE ON journal_payments
FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();
