-- The audit chain anchored outside the database (issue 16, item 2; docs/ARCHITECTURE.md "The
-- audit trail").
--
-- Ids come from a sequence, never from max(id) + 1: a deleted tail's ids are not handed out again,
-- so the next record shows a gap instead of healing it. (A rolled-back append also leaves a gap;
-- what proves a tail was deleted is the signed checkpoint kept outside the database.)
CREATE SEQUENCE audit_log_id_seq AS bigint MINVALUE 1 OWNED BY audit_log.id;
SELECT setval('audit_log_id_seq', coalesce((SELECT max(id) FROM audit_log), 0) + 1, false);
ALTER TABLE audit_log ALTER COLUMN id SET DEFAULT nextval('audit_log_id_seq');

-- Version 2 of the record's hash covers the stored timestamp at full (microsecond) precision, as
-- PostgreSQL prints it, and the client's own request id. Records written before keep version 1
-- (millisecond timestamps), which verification still recomputes as they were written.
ALTER TABLE audit_log ADD COLUMN hash_version smallint NOT NULL DEFAULT 1 CHECK (hash_version IN (1, 2));
ALTER TABLE audit_log ALTER COLUMN hash_version SET DEFAULT 2;
-- The X-Request-Id a client sent, kept beside the service's own request id (never instead of it).
ALTER TABLE audit_log ADD COLUMN client_request_id text CHECK (length(client_request_id) <= 64);

GRANT USAGE, SELECT ON SEQUENCE audit_log_id_seq TO zalog_app;

-- Mail to the bank's own people (the auditors' copy of each audit checkpoint): written in the
-- transaction of what it reports, delivered by the service through the configured SMTP server
-- with back-off, as the risk outbox is (src/notices/mail-outbox.ts).
CREATE TABLE mail_outbox (
  id              int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic           text NOT NULL CHECK (length(topic) BETWEEN 1 AND 64),
  to_address      text NOT NULL CHECK (to_address ~ '^[^@\s]+@[^@\s]+$' AND length(to_address) <= 254),
  subject         text NOT NULL CHECK (length(subject) BETWEEN 1 AND 300),
  body_text       text NOT NULL,
  created_at      timestamptz NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts        int4 NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  last_error      text,
  delivered_at    timestamptz,
  receipt         jsonb
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';
