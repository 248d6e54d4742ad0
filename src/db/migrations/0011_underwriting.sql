-- Underwriting data: network state (difficulty, height, fees) from the public API adapter and from
-- imported history; the stored decision reports; and equipment as second-layer collateral (the
-- bank's price index by efficiency tier, and valuations of pledged machines).
-- See src/underwriting/ and docs/ARCHITECTURE.md, "Knowing the miner".

CREATE TABLE network_snapshots (
  source        text NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
  observed_at   timestamptz NOT NULL,
  -- Block height at the time; null for imported daily history that has none.
  height        bigint CHECK (height >= 0),
  -- Difficulty, whole part (the API's float is exact to well below one unit at today's size).
  difficulty    bigint NOT NULL CHECK (difficulty > 0),
  -- Average fees per block in sats over the recent blocks; null when the source gives none.
  fees_sats_per_block bigint CHECK (fees_sats_per_block >= 0),
  hashrate_ths  numeric,
  PRIMARY KEY (source, observed_at)
);
CREATE INDEX network_snapshots_time ON network_snapshots (observed_at DESC);

CREATE TABLE underwriting_reports (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  borrower_id  bigint NOT NULL REFERENCES borrowers (id),
  as_of        date NOT NULL,
  request      jsonb NOT NULL,
  report       jsonb NOT NULL,
  recommendation text NOT NULL CHECK (recommendation IN ('approve', 'refer', 'decline')),
  compliance_evaluation_id bigint NOT NULL REFERENCES compliance_evaluations (id),
  created_by   bigint NOT NULL REFERENCES users (id),
  created_at   timestamptz NOT NULL
);
CREATE INDEX underwriting_reports_borrower ON underwriting_reports (borrower_id, id DESC);
CREATE TRIGGER underwriting_reports_append_only BEFORE UPDATE OR DELETE ON underwriting_reports
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- The bank's ASIC price index: USD per TH/s by efficiency tier (J/TH: <19, 19-25, 25-38, 38-68,
-- >68, like Luxor's), effective-dated. Seeded with nothing: the bank enters its own.
CREATE TABLE equipment_price_index (
  effective_from date NOT NULL,
  tier           text NOT NULL CHECK (tier IN ('below19', 'from19to25', 'from25to38', 'from38to68', 'above68')),
  usd_per_th     numeric(12, 4) NOT NULL CHECK (usd_per_th >= 0),
  source         text NOT NULL CHECK (length(source) BETWEEN 1 AND 200),
  recorded_by    bigint NOT NULL REFERENCES users (id),
  PRIMARY KEY (effective_from, tier)
);

-- Valuations of pledged machines (site_machines rows with serials), each with its inputs. The
-- latest per machine group is its value; a breach makes it zero. Appended, never edited.
CREATE TABLE equipment_valuations (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  borrower_id         bigint NOT NULL REFERENCES borrowers (id),
  machines_id         bigint NOT NULL REFERENCES site_machines (id),
  valued_on           date NOT NULL,
  pledged_count       integer NOT NULL CHECK (pledged_count > 0),
  index_value_kopecks bigint NOT NULL CHECK (index_value_kopecks >= 0),
  cash_flow_value_kopecks bigint NOT NULL CHECK (cash_flow_value_kopecks >= 0),
  method              text NOT NULL CHECK (method IN ('index', 'cash_flow')),
  value_kopecks       bigint NOT NULL CHECK (value_kopecks >= 0),
  -- Weight of this collateral in the loan's collateral value (bps), from the bank's policy.
  weight_bps          integer NOT NULL CHECK (weight_bps BETWEEN 0 AND 10000),
  breach              text,
  reason              text NOT NULL,
  inputs              jsonb NOT NULL,
  valued_by           bigint NOT NULL REFERENCES users (id),
  valued_at           timestamptz NOT NULL
);
CREATE INDEX equipment_valuations_machines ON equipment_valuations (machines_id, id DESC);
CREATE INDEX equipment_valuations_borrower ON equipment_valuations (borrower_id, id DESC);
CREATE TRIGGER equipment_valuations_append_only BEFORE UPDATE OR DELETE ON equipment_valuations
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON underwriting_reports, equipment_valuations FROM zalog_app;
