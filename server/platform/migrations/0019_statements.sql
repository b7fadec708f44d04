-- Statements over a period (docs/accounting.md): the journal, the e-shop's orders and the
-- refunds of their tickets are read by time, so each gets an index on it.
CREATE INDEX journal_created_at ON journal (created_at);
CREATE INDEX orders_created_at ON orders (created_at);
CREATE INDEX revocations_refunded_at ON revocations (revoked_at) WHERE reason = 'refunded';
CREATE INDEX register_sessions_opened_at ON register_sessions (opened_at);
CREATE INDEX ledger_transactions_created_at ON ledger_transactions (created_at);
