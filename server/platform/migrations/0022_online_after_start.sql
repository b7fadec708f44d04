-- Sessions that have started are no longer sold online unless the organiser allows it
-- (docs/catalog.md): the shop's holds and orders refuse them with 409 session_started; the
-- cash desk sells on regardless.
ALTER TABLE sessions ADD COLUMN sell_online_after_start boolean NOT NULL DEFAULT false;
