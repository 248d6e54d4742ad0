-- Compliance data (issue 16, item 16).

-- The seasonal bans of the government's decree of 23.12.2024 under 221-FZ: no mining from 15 November
-- to 15 March in named parts of Irkutsk region (38), Buryatia (03) and Zabaykalsky krai (75),
-- through 15 March 2031. The decree names municipalities; seeded here for the whole region, the
-- conservative reading, so no site there passes in season until a compliance officer enters the
-- municipalities the decree names (PUT /api/v1/compliance/bans/{id}, audited).
INSERT INTO mining_bans (id, region_code, municipalities, kind, season_start, season_end, effective_from, effective_to, legal_basis)
  SELECT 'seasonal-' || code, code, NULL, 'seasonal', '11-15', '03-15', DATE '2025-01-01', DATE '2031-03-15',
         'Government decree of 23.12.2024 under 221-FZ (seasonal ban, 15 November to 15 March, in the parts of the region the decree names); seeded for the whole region until the named municipalities are entered'
    FROM unnest(ARRAY['38', '03', '75']) AS code
ON CONFLICT (id) DO NOTHING;

-- The ASIC catalogue grows through the API (audited); a model once added is not edited (a machine
-- refers to it), so a correction is a new model.
ALTER TABLE asic_models ADD COLUMN added_at timestamptz;
ALTER TABLE asic_models ADD COLUMN added_by int8 REFERENCES users (id);
CREATE TRIGGER asic_models_append_only BEFORE UPDATE OR DELETE ON asic_models
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- A machine group recorded by mistake is corrected, or retired when it leaves service; each change
-- keeps what was before (machine_changes). A retired group counts for nothing (energy, cover, value).
ALTER TABLE site_machines ADD COLUMN retired_on date;
ALTER TABLE site_machines ADD COLUMN retired_reason text;
CREATE TABLE machine_changes (
  id          int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  machines_id int8 NOT NULL REFERENCES site_machines (id),
  kind        text NOT NULL CHECK (kind IN ('correct', 'retire')),
  before      jsonb NOT NULL,
  after       jsonb NOT NULL,
  reason      text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  at          timestamptz NOT NULL,
  by_user     int8 NOT NULL REFERENCES users (id)
);
CREATE INDEX machine_changes_machines ON machine_changes (machines_id, id);
CREATE TRIGGER machine_changes_append_only BEFORE UPDATE OR DELETE ON machine_changes
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
