-- What the compliance rules read and what they decided: registry checks, monthly FNS reports, and
-- every evaluation with its inputs and results. See docs/ARCHITECTURE.md, "Knowing the miner".

CREATE TABLE registry_records (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  borrower_id  bigint NOT NULL REFERENCES borrowers (id),
  number       text NOT NULL CHECK (length(number) BETWEEN 1 AND 64),
  included_on  date NOT NULL,
  status       text NOT NULL CHECK (status IN ('included', 'excluded')),
  checked_on   date NOT NULL,
  -- How it was checked: the registry service, an imported registry extract, or by hand.
  source       text NOT NULL CHECK (source IN ('registry_service', 'extract_import', 'manual')),
  recorded_by  bigint NOT NULL REFERENCES users (id),
  recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registry_records_borrower ON registry_records (borrower_id, checked_on DESC, id DESC);

CREATE TABLE fns_reports (
  borrower_id  bigint NOT NULL REFERENCES borrowers (id),
  period       text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  filed_on     date NOT NULL,
  receipt      text NOT NULL CHECK (length(receipt) BETWEEN 1 AND 100),
  recorded_by  bigint NOT NULL REFERENCES users (id),
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (borrower_id, period)
);

CREATE TABLE compliance_evaluations (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  borrower_id  bigint NOT NULL REFERENCES borrowers (id),
  as_of        date NOT NULL,
  evaluated_at timestamptz NOT NULL,
  evaluated_by bigint NOT NULL REFERENCES users (id),
  inputs       jsonb NOT NULL,
  results      jsonb NOT NULL,
  blocking     boolean NOT NULL
);
CREATE INDEX compliance_evaluations_borrower ON compliance_evaluations (borrower_id, id DESC);
CREATE TRIGGER compliance_evaluations_append_only BEFORE UPDATE OR DELETE ON compliance_evaluations
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON compliance_evaluations, registry_records FROM zalog_app;
