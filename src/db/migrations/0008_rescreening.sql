-- Re-screening every borrower when the banned-area table changes: the latest banned-area outcome
-- per borrower, and events for borrowers that start failing (a default review for a live loan).
CREATE TABLE ban_screenings (
  borrower_id bigint PRIMARY KEY REFERENCES borrowers (id),
  as_of       date NOT NULL,
  banned      boolean NOT NULL,
  ban_ids     text[] NOT NULL DEFAULT '{}',
  screened_at timestamptz NOT NULL
);

CREATE TABLE compliance_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  borrower_id bigint NOT NULL REFERENCES borrowers (id),
  rule        text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('started_failing', 'stopped_failing')),
  reason      text NOT NULL,
  raised_at   timestamptz NOT NULL
);
CREATE INDEX compliance_events_borrower ON compliance_events (borrower_id, id);
CREATE INDEX mining_sites_region ON mining_sites (region_code, municipality);
