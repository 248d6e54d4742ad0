-- Who may do what: users and roles, sessions and API tokens, four-eyes approvals, stored HTTP
-- responses for idempotent retries, and the hash-chained audit log. See docs/ARCHITECTURE.md,
-- "Identity, four eyes and audit".

CREATE TABLE users (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._@-]{2,63}$'),
  display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
  -- 'scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>'; '!' for the system user, who never logs in.
  password_hash text NOT NULL,
  roles         text[] NOT NULL CHECK (
                  cardinality(roles) >= 1
                  AND roles <@ ARRAY['borrower', 'credit_officer', 'risk_officer', 'treasury', 'auditor', 'admin', 'system']::text[]),
  -- The borrower record a miner's representative acts for (the borrowers table comes later).
  borrower_id   text CHECK (borrower_id ~ '^[A-Za-z0-9._-]{1,64}$'),
  disabled_at   timestamptz,
  failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
  locked_until  timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  -- A borrower's representative is that and nothing else, and is bound to one borrower.
  CHECK (('borrower' = ANY (roles)) = (borrower_id IS NOT NULL)),
  CHECK (NOT ('borrower' = ANY (roles)) OR cardinality(roles) = 1)
);

-- Automatic decisions (risk engine, end of day) are recorded as made by this user.
INSERT INTO users (username, display_name, password_hash, roles)
  VALUES ('system', 'zalog automatic decisions', '!', ARRAY['system']);

CREATE TABLE sessions (
  -- SHA-256 of the cookie value: a copy of this table does not let anyone in.
  id_hash      text PRIMARY KEY CHECK (length(id_hash) = 64),
  user_id      bigint NOT NULL REFERENCES users (id),
  csrf_token   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  ip           text
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id      bigint NOT NULL REFERENCES users (id),
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  secret_hash  text NOT NULL CHECK (length(secret_hash) = 64),
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  last_used_at timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Four eyes. Which roles may approve an action depends on its amounts: per action and currency,
-- tiers of "up to this many minor units, this role". NULL: no upper bound.
CREATE TABLE approval_limits (
  action_type   text NOT NULL CHECK (length(action_type) BETWEEN 3 AND 64),
  currency      text NOT NULL CHECK (currency IN ('RUB', 'BTC')),
  approver_role text NOT NULL CHECK (approver_role IN ('credit_officer', 'risk_officer', 'treasury')),
  up_to_minor   bigint CHECK (up_to_minor > 0),
  PRIMARY KEY (action_type, currency, approver_role)
);

-- Manual ledger adjustments: a credit officer approves up to 1,000,000.00 RUB, treasury up to
-- 1 BTC of collateral movements; above that, a risk officer.
INSERT INTO approval_limits (action_type, currency, approver_role, up_to_minor) VALUES
  ('ledger.manual_entry', 'RUB', 'credit_officer', 100000000),
  ('ledger.manual_entry', 'RUB', 'risk_officer',   NULL),
  ('ledger.manual_entry', 'BTC', 'treasury',       100000000),
  ('ledger.manual_entry', 'BTC', 'risk_officer',   NULL),
  ('ledger.reversal',     'RUB', 'credit_officer', 100000000),
  ('ledger.reversal',     'RUB', 'risk_officer',   NULL),
  ('ledger.reversal',     'BTC', 'treasury',       100000000),
  ('ledger.reversal',     'BTC', 'risk_officer',   NULL);

CREATE TABLE approvals (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  action_type     text NOT NULL CHECK (length(action_type) BETWEEN 3 AND 64),
  payload         jsonb NOT NULL,
  summary         text NOT NULL,
  -- Minor units per currency, as strings: what the approval limits are applied to.
  amounts         jsonb NOT NULL DEFAULT '{}',
  proposed_by     bigint NOT NULL REFERENCES users (id),
  proposed_at     timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
  decided_by      bigint REFERENCES users (id),
  decided_at      timestamptz,
  decision_reason text,
  result          jsonb,
  CHECK (expires_at > proposed_at),
  -- The maker is never the checker, whatever writes the row (cancelling is the maker's own act).
  CHECK (status = 'cancelled' OR decided_by IS DISTINCT FROM proposed_by),
  CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE INDEX approvals_pending ON approvals (proposed_at) WHERE status = 'pending';

-- The response to each idempotent POST, written in the same transaction as its effect: a retry
-- with the same key and body gets it back; a crash before commit leaves neither.
CREATE TABLE idempotency_records (
  user_id      bigint NOT NULL REFERENCES users (id),
  key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
  route        text NOT NULL,
  request_hash text NOT NULL CHECK (length(request_hash) = 64),
  status_code  integer NOT NULL,
  response     jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);

-- The audit log: one row per state-changing request and per automatic decision, each carrying the
-- SHA-256 of the previous row, so editing, removing or reordering any row breaks the chain from
-- there on (`zalog audit verify` names the first broken row). Ids are given under a lock, 1, 2, 3
-- without gaps, so a removed last row is also seen against the id sequence of its successors.
CREATE TABLE audit_log (
  id            bigint PRIMARY KEY CHECK (id >= 1),
  at            timestamptz NOT NULL,
  actor_user_id bigint REFERENCES users (id),
  actor         text NOT NULL,
  action        text NOT NULL,
  target        text,
  outcome       text NOT NULL CHECK (outcome IN ('ok', 'refused')),
  request_id    text,
  ip            text,
  details       jsonb NOT NULL,
  prev_hash     text NOT NULL CHECK (length(prev_hash) = 64),
  hash          text NOT NULL UNIQUE CHECK (length(hash) = 64)
);

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- The application's own database role. The service should connect as a login role that is a member
-- of zalog_app, while migrations run as the schema owner (README, "Database roles"). It may read
-- and write what it needs, but never UPDATE, DELETE or TRUNCATE the audit log or the ledger.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zalog_app') THEN
    IF NOT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
      RAISE EXCEPTION 'create the role zalog_app (NOLOGIN) before migrating, or migrate as a role with CREATEROLE';
    END IF;
    CREATE ROLE zalog_app NOLOGIN;
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO zalog_app', current_schema());
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO zalog_app', current_schema());
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO zalog_app', current_schema());
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO zalog_app', current_schema());
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO zalog_app', current_schema());
END $$;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, ledger_entries, ledger_postings, ledger_accounts, ledger_chart, schema_migrations FROM zalog_app;
