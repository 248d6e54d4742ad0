-- Issue 20: the bank's side of the book. Capital, risk weights and exposure limits are data with
-- an effective date, a legal basis and a reason, as the compliance rules are. Rows are appended,
-- never edited: a change is a new row from its day (a risk officer proposes, a second approves),
-- so the history is the table itself and a past decision can always be read against the rules it
-- was made under (exposure_checks keeps them too).
--
-- The rule in force on a day for a key is the row with the greatest (effective_from, id) on or
-- before that day; a row with active = false ends the key from its day.

CREATE TABLE bank_capital (
  id             int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  effective_from date NOT NULL,
  -- Tier 1 (основной капитал), kopecks, as the bank's reporting states it for the date.
  tier1_kopecks  int8 NOT NULL CHECK (tier1_kopecks > 0),
  legal_basis    text NOT NULL CHECK (length(legal_basis) BETWEEN 3 AND 500),
  reason         text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  recorded_at    timestamptz NOT NULL,
  recorded_by    int8 REFERENCES users (id),
  approval_id    int8 REFERENCES approvals (id)
);
CREATE INDEX bank_capital_day ON bank_capital (effective_from, id);
CREATE TRIGGER bank_capital_append_only BEFORE UPDATE OR DELETE ON bank_capital
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- Risk weights by borrower kind (NULL: any kind; a kind's own row wins) and the collateral the
-- exposure stands on. Basis points: 10000 = 100%, 125000 = 1,250%.
CREATE TABLE risk_weight_rules (
  id             int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  effective_from date NOT NULL,
  borrower_kind  text CHECK (borrower_kind IN ('company', 'entrepreneur', 'individual')),
  collateral     text NOT NULL CHECK (collateral IN ('btc', 'equipment')),
  weight_bps     int4 NOT NULL CHECK (weight_bps BETWEEN 0 AND 125000),
  active         boolean NOT NULL DEFAULT true,
  legal_basis    text NOT NULL CHECK (length(legal_basis) BETWEEN 3 AND 500),
  reason         text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  recorded_at    timestamptz NOT NULL,
  recorded_by    int8 REFERENCES users (id),
  approval_id    int8 REFERENCES approvals (id)
);
CREATE TRIGGER risk_weight_rules_append_only BEFORE UPDATE OR DELETE ON risk_weight_rules
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- Limits as a share of Tier 1 capital, basis points, soft (a risk officer must approve a loan
-- above it) and hard (refused). crypto_book: everything the bank lends against crypto; borrower
-- and group: one borrower, one group of connected borrowers (the Н6 idea); region: the borrowers
-- of one region (region_code NULL: every region without its own row).
CREATE TABLE exposure_limits (
  id             int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  effective_from date NOT NULL,
  kind           text NOT NULL CHECK (kind IN ('crypto_book', 'borrower', 'group', 'region')),
  region_code    text CHECK (region_code ~ '^[0-9]{2}$'),
  soft_bps       int4 NOT NULL CHECK (soft_bps > 0),
  hard_bps       int4 NOT NULL CHECK (hard_bps <= 1000000),
  active         boolean NOT NULL DEFAULT true,
  legal_basis    text NOT NULL CHECK (length(legal_basis) BETWEEN 3 AND 500),
  reason         text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  recorded_at    timestamptz NOT NULL,
  recorded_by    int8 REFERENCES users (id),
  approval_id    int8 REFERENCES approvals (id),
  CHECK (soft_bps <= hard_bps),
  CHECK (region_code IS NULL OR kind = 'region')
);
CREATE TRIGGER exposure_limits_append_only BEFORE UPDATE OR DELETE ON exposure_limits
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- The defaults, with their sources (../shared/BRIEF.md section 3). Capital is not seeded: a bank
-- enters its own, and until it does no loan can be approved (the check cannot be made).
INSERT INTO risk_weight_rules (effective_from, borrower_kind, collateral, weight_bps, legal_basis, reason, recorded_at) VALUES
  (DATE '2025-01-01', NULL, 'btc', 125000,
   'Bank of Russia (2025-26): crypto-related exposures to be covered in full by capital; Basel SCO60 weights Group 2 crypto at 1,250%',
   'Default until the Bank of Russia publishes its 2026 rules: a loan against BTC weighted as the crypto it stands on', now());
INSERT INTO exposure_limits (effective_from, kind, region_code, soft_bps, hard_bps, legal_basis, reason, recorded_at) VALUES
  (DATE '2025-01-01', 'crypto_book', NULL, 100, 200,
   'Basel SCO60: Group 2 crypto exposure at most 1% of Tier 1 (2% hard); the Bank of Russia asked banks to keep crypto exposure near 1% of capital',
   'Default: the whole book lent against BTC', now()),
  (DATE '2025-01-01', 'borrower', NULL, 2000, 2500,
   'Bank of Russia Instruction 199-I, ratio Н6: one borrower or group of connected borrowers at most 25% of capital; soft at 20% by the bank''s policy',
   'Default', now()),
  (DATE '2025-01-01', 'group', NULL, 2000, 2500,
   'Bank of Russia Instruction 199-I, ratio Н6: one borrower or group of connected borrowers at most 25% of capital; soft at 20% by the bank''s policy',
   'Default', now()),
  (DATE '2025-01-01', 'region', NULL, 75, 150,
   'The bank''s credit policy (no regulatory ratio): one region at most three quarters of the crypto book''s hard limit, so a regional ban cannot take the whole book',
   'Default', now());

-- Groups of connected borrowers (one group at a time per borrower; changes are audited).
CREATE TABLE borrower_groups (
  ref        text PRIMARY KEY CHECK (ref ~ '^[A-Za-z0-9._-]{1,64}$'),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
  basis      text NOT NULL CHECK (length(basis) BETWEEN 3 AND 500),
  created_at timestamptz NOT NULL,
  created_by int8 NOT NULL REFERENCES users (id)
);
ALTER TABLE borrowers ADD COLUMN group_ref text REFERENCES borrower_groups (ref);
CREATE INDEX borrowers_group ON borrowers (group_ref) WHERE group_ref IS NOT NULL;
-- The company's (or entrepreneur's) state registration date, for a product's borrower-age rule.
ALTER TABLE borrowers ADD COLUMN registered_on date;

-- The book against every limit, as computed (end of day, on demand, or when an approval finds the
-- last one older than the last closed day). An approval's check reads the latest one plus every
-- loan approved after it (max_loan_id), under the same advisory lock the computation takes, so
-- nothing approved is missed; the snapshot is also the history by day.
CREATE TABLE exposure_snapshots (
  id            int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  taken_at      timestamptz NOT NULL,
  business_date date NOT NULL,
  max_loan_id   int8 NOT NULL,
  capital_id    int8 REFERENCES bank_capital (id),
  book_kopecks  int8 NOT NULL,
  figures       jsonb NOT NULL
);
CREATE INDEX exposure_snapshots_day ON exposure_snapshots (business_date, id);
-- An approval reads the loans approved after the snapshot by id.

-- Each check made before an offer and at approval, with the figures and the rules it used (ids and
-- values), so later edits of the rules never change what a past decision was made on.
CREATE TABLE exposure_checks (
  id             int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id int8 NOT NULL REFERENCES loan_applications (id),
  stage          text NOT NULL CHECK (stage IN ('offer', 'approval')),
  approval_id    int8 REFERENCES approvals (id),
  decision       text NOT NULL CHECK (decision IN ('within', 'soft', 'hard', 'no_capital')),
  figures        jsonb NOT NULL,
  at             timestamptz NOT NULL,
  by_user        int8 REFERENCES users (id)
);
CREATE INDEX exposure_checks_application ON exposure_checks (application_id, id);
CREATE TRIGGER exposure_checks_append_only BEFORE UPDATE OR DELETE ON exposure_checks
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
ALTER TABLE loan_offers ADD COLUMN exposure jsonb;

-- The sale's legal channel. BTC is not a means of payment in Russia (259-FZ): pledged BTC is sold
-- through a channel the law allows at the time. Which channels the bank may use when is
-- effective-dated here (a product may narrow them in its terms); each liquidation records the
-- channel, venue, counterparty and jurisdiction it sold through.
CREATE TABLE sale_channel_rules (
  id             int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  effective_from date NOT NULL,
  channel        text NOT NULL CHECK (channel IN ('licensed_venue', 'experimental_regime', 'otc_abroad')),
  allowed        boolean NOT NULL,
  legal_basis    text NOT NULL CHECK (length(legal_basis) BETWEEN 3 AND 500),
  reason         text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  recorded_at    timestamptz NOT NULL,
  recorded_by    int8 REFERENCES users (id),
  approval_id    int8 REFERENCES approvals (id)
);
CREATE TRIGGER sale_channel_rules_append_only BEFORE UPDATE OR DELETE ON sale_channel_rules
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
INSERT INTO sale_channel_rules (effective_from, channel, allowed, legal_basis, reason, recorded_at) VALUES
  (DATE '2024-09-01', 'experimental_regime', true,
   'Federal Law of 08.08.2024 No. 223-FZ amending 259-FZ: digital currency in cross-border settlements under the Bank of Russia''s experimental legal regime',
   'Default: the one channel the law opened for selling digital currency', now());

ALTER TABLE liquidations ADD COLUMN sale_channel text CHECK (sale_channel IN ('licensed_venue', 'experimental_regime', 'otc_abroad'));
ALTER TABLE liquidations ADD COLUMN sale_venue text CHECK (length(sale_venue) BETWEEN 1 AND 200);
ALTER TABLE liquidations ADD COLUMN sale_counterparty text CHECK (length(sale_counterparty) BETWEEN 1 AND 200);
ALTER TABLE liquidations ADD COLUMN sale_jurisdiction text CHECK (sale_jurisdiction ~ '^[A-Z]{2}$');
ALTER TABLE liquidations ADD CONSTRAINT liquidations_sale_channel_whole
  CHECK ((sale_channel IS NULL) = (sale_venue IS NULL) AND (sale_channel IS NULL) = (sale_counterparty IS NULL) AND (sale_channel IS NULL) = (sale_jurisdiction IS NULL));
CREATE INDEX liquidations_sold_at ON liquidations (sold_at) WHERE sold_at IS NOT NULL;
