-- Statistics (docs/accounting.md): the figures of a session read all its tickets, refunded
-- and cancelled ones included (their refunds count against its revenue); the existing index
-- on a session's tickets holds only the active ones.
CREATE INDEX tickets_of_session ON tickets (session_id);
