-- Checks of the FNS miners' registry through the registry service and imported extracts: a check
-- may find no record (status 'not_found'), an exclusion carries its date and reason, an extract is
-- kept with its checksum, and a failed attempt to reach the service is recorded.
-- See src/compliance/registry.ts.

ALTER TABLE registry_records DROP CONSTRAINT registry_records_status_check;
ALTER TABLE registry_records ADD CONSTRAINT registry_records_status_check CHECK (status IN ('included', 'excluded', 'not_found'));
ALTER TABLE registry_records ALTER COLUMN number DROP NOT NULL, ALTER COLUMN included_on DROP NOT NULL;
ALTER TABLE registry_records ADD CONSTRAINT registry_records_found CHECK ((status = 'not_found') = (number IS NULL AND included_on IS NULL));
ALTER TABLE registry_records ADD COLUMN excluded_on date, ADD COLUMN exclusion_reason text CHECK (length(exclusion_reason) <= 500);

CREATE TABLE registry_extracts (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  as_of        date NOT NULL,
  sha256       text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  -- A complete extract is the whole registry: a company or entrepreneur missing from it is not in it.
  complete     boolean NOT NULL,
  row_count    integer NOT NULL,
  matched      integer NOT NULL,
  imported_at  timestamptz NOT NULL,
  imported_by  bigint NOT NULL REFERENCES users (id)
);
ALTER TABLE registry_records ADD COLUMN extract_id bigint REFERENCES registry_extracts (id);

CREATE TABLE registry_check_failures (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  borrower_id  bigint NOT NULL REFERENCES borrowers (id),
  attempted_at timestamptz NOT NULL,
  error        text NOT NULL
);
CREATE INDEX registry_check_failures_borrower ON registry_check_failures (borrower_id, attempted_at DESC);
