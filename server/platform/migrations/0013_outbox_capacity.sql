-- A general-admission session's new capacity reaches its live mirror as its own outbox
-- operation (the holds stay), no longer as a rebuild.
ALTER TABLE outbox DROP CONSTRAINT outbox_op_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_op_check
    CHECK (op IN ('sell', 'unsell', 'block', 'reload', 'capacity'));
