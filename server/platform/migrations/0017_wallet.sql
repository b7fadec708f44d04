-- The cashless wallet: a double-entry ledger in integer cents (docs/wallet.md).
--
-- Accounts: each wallet; and per currency the cash and card takings of top-ups, the bar
-- sales of each point of sale, refunds paid out, donations, breakage and corrections.
-- A transaction moves a positive amount from one account to another, so the balances of
-- all accounts always add up to zero. Each account's balance is kept in its row, updated
-- in the transaction's own database transaction; a transaction row also records the
-- balances it left, so an offline debit that overdrew a wallet says so for ever.
CREATE TABLE ledger_accounts (
    id               bigserial PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('wallet', 'cash', 'card', 'bar', 'payout',
                     'donation', 'breakage', 'correction')),
    point_of_sale_id bigint REFERENCES points_of_sale(id),
    currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    balance_cents    bigint NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'bar') = (point_of_sale_id IS NOT NULL))
);
-- One account of each other kind per currency (and per point of sale for bars).
CREATE UNIQUE INDEX ledger_accounts_shared
    ON ledger_accounts (kind, currency, coalesce(point_of_sale_id, 0)) WHERE kind <> 'wallet';

-- A wallet rides on a pass or a ticket: its QR code is theirs.
CREATE TABLE wallets (
    id          bigserial PRIMARY KEY,
    account_id  bigint NOT NULL UNIQUE REFERENCES ledger_accounts(id),
    pass_id     bigint UNIQUE REFERENCES passes(id),
    ticket_id   bigint UNIQUE REFERENCES tickets(id),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'closed')),
    currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((pass_id IS NULL) <> (ticket_id IS NULL))
);

CREATE TABLE ledger_transactions (
    id               bigserial PRIMARY KEY,
    idempotency_key  text NOT NULL UNIQUE,
    kind             text NOT NULL CHECK (kind IN ('topup', 'debit', 'reversal', 'payout',
                     'donation', 'breakage', 'correction')),
    from_account     bigint NOT NULL REFERENCES ledger_accounts(id),
    to_account       bigint NOT NULL REFERENCES ledger_accounts(id),
    amount_cents     bigint NOT NULL CHECK (amount_cents > 0),
    currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    from_balance     bigint NOT NULL,  -- the balances this transaction left
    to_balance       bigint NOT NULL,
    reverses_id      bigint UNIQUE REFERENCES ledger_transactions(id),  -- at most once
    wallet_id        bigint REFERENCES wallets(id),
    journal_id       bigint REFERENCES journal(id),
    point_of_sale_id bigint REFERENCES points_of_sale(id),
    device           text,
    offline          boolean NOT NULL DEFAULT false,
    taken_at         timestamptz NOT NULL,  -- when the bar took it (offline: on the device)
    created_by       bigint REFERENCES users(id),
    reason           text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (from_account <> to_account),
    CHECK ((kind = 'reversal') = (reverses_id IS NOT NULL))
);
CREATE INDEX ledger_transactions_wallet ON ledger_transactions (wallet_id, id);
CREATE INDEX ledger_transactions_bar ON ledger_transactions (point_of_sale_id, taken_at)
    WHERE kind = 'debit';
CREATE INDEX ledger_transactions_overdrafts ON ledger_transactions (id)
    WHERE offline AND from_balance < 0;

CREATE TRIGGER ledger_transactions_no_change BEFORE UPDATE OR DELETE ON ledger_transactions
FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();

-- Wallet movements are journal entries of the register or bar that made them. A bar's
-- debits are journalled at the bar's register without a register session (nothing to
-- count: no cash changes hands); they are paid by the wallet.
ALTER TABLE journal DROP CONSTRAINT journal_kind_check;
ALTER TABLE journal ADD CONSTRAINT journal_kind_check CHECK (kind IN ('sale', 'refund',
    'float', 'credit', 'debit', 'credit_error', 'debit_error', 'closing_difference',
    'wallet_topup', 'wallet_debit'));
ALTER TABLE journal ALTER COLUMN register_session_id DROP NOT NULL;
ALTER TABLE journal ADD CONSTRAINT journal_session_unless_bar
    CHECK (register_session_id IS NOT NULL OR kind = 'wallet_debit');
ALTER TABLE journal_payments DROP CONSTRAINT journal_payments_method_check;
ALTER TABLE journal_payments ADD CONSTRAINT journal_payments_method_check
    CHECK (method IN ('cash', 'card', 'wallet'));
