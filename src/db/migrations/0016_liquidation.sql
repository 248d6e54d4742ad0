-- Liquidation (issue 7): a loan the risk engine put into 'liquidation' gets a liquidation, which is
-- queued, admitted under the book-wide cap on collateral being sold, sold at a venue (fills never
-- below the floor), and booked: proceeds through the loan's waterfall, surplus back to the
-- borrower, a shortfall provisioned and later written off under four eyes (src/risk/liquidations.ts).

-- A partial sale splits a position: the sold one is marked 'liquidated' and the unsold remainder
-- becomes a new pledged position born of the liquidation, declared by the system user (so no
-- position's sats ever change).
ALTER TABLE collateral_positions ADD COLUMN liquidation_id int8;

CREATE TABLE liquidations (
  id                 int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  loan_id            int8 NOT NULL REFERENCES loans (id),
  -- queued -> selling (admitted under the cap, plan fixed) -> sold (the venue is done) -> booked;
  -- or cancelled (nothing to sell when admitted: the loan was back at or under its target LTV).
  status             text NOT NULL CHECK (status IN ('queued', 'selling', 'sold', 'booked', 'cancelled')),
  queued_at          timestamptz NOT NULL,
  -- The plan (liquidation.ts planLiquidation), fixed when admitted.
  kind               text CHECK (kind IN ('partial', 'full')),
  reason             text,
  venue              text CHECK (venue IN ('otc', 'simulated')),
  reference_kopecks  int8,
  reference_cycle_id int8 REFERENCES price_cycles (id),
  floor_kopecks      int8,
  planned_sats       int8 CHECK (planned_sats > 0),
  debt_kopecks       int8,
  sats               int8,
  admitted_at        timestamptz,
  sold_at            timestamptz,
  booked_at          timestamptz,
  -- The execution report the borrower gets (reference, fills, slippage, fees, LTV before and after).
  report             jsonb,
  CHECK (status = 'queued' OR status = 'cancelled' OR (kind IS NOT NULL AND planned_sats IS NOT NULL AND floor_kopecks IS NOT NULL AND reference_kopecks IS NOT NULL))
);
-- At most one liquidation in progress per loan.
CREATE UNIQUE INDEX liquidations_open ON liquidations (loan_id) WHERE status IN ('queued', 'selling', 'sold');
CREATE INDEX liquidations_status ON liquidations (status, id) WHERE status IN ('queued', 'selling', 'sold');
-- The loans the engine put into liquidation (the job looks for those without a liquidation).
CREATE INDEX loan_risk_liquidation ON loan_risk (loan_id) WHERE state = 'liquidation';

-- A venue's fills, append-only; one venue fill id is recorded once.
CREATE TABLE liquidation_fills (
  id                 int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  liquidation_id     int8 NOT NULL REFERENCES liquidations (id),
  venue_fill_id      text NOT NULL CHECK (length(venue_fill_id) BETWEEN 1 AND 100),
  sats               int8 NOT NULL CHECK (sats > 0),
  price_kopecks      int8 NOT NULL CHECK (price_kopecks > 0),
  fee_kopecks        int8 NOT NULL CHECK (fee_kopecks >= 0),
  at                 timestamptz NOT NULL,
  -- The four-eyes approval that recorded an OTC fill.
  approval_id        int8 REFERENCES approvals (id),
  UNIQUE (liquidation_id, venue_fill_id)
);
CREATE TRIGGER liquidation_fills_append_only BEFORE UPDATE OR DELETE ON liquidation_fills
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON liquidation_fills FROM zalog_app;

ALTER TABLE collateral_positions ADD CONSTRAINT collateral_positions_liquidation FOREIGN KEY (liquidation_id) REFERENCES liquidations (id);

-- Booking a liquidation is a transition too (cause 'liquidation'), with the execution report, so
-- the borrower is told through the same outbox.
ALTER TABLE risk_transitions DROP CONSTRAINT risk_transitions_cause_check;
ALTER TABLE risk_transitions ADD CONSTRAINT risk_transitions_cause_check CHECK (cause IN ('price', 'exposure', 'deadline', 'liquidation'));
ALTER TABLE risk_transitions ADD COLUMN report jsonb;

-- A shortfall written off (loans.write_off, four eyes): what, when, by which approval.
CREATE TABLE loan_write_offs (
  loan_id            int8 PRIMARY KEY REFERENCES loans (id),
  amount_kopecks     int8 NOT NULL CHECK (amount_kopecks > 0),
  provision_used     int8 NOT NULL CHECK (provision_used >= 0),
  reason             text NOT NULL,
  approval_id        int8 NOT NULL REFERENCES approvals (id),
  ledger_entry_id    int8 NOT NULL,
  at                 timestamptz NOT NULL
);
CREATE TRIGGER loan_write_offs_append_only BEFORE UPDATE OR DELETE ON loan_write_offs
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON loan_write_offs FROM zalog_app;

-- Who approves: a second treasurer records the OTC desk's fills up to 10 BTC, a risk officer above;
-- a write-off is a risk officer's up to 10,000,000.00 RUB, above that too (the bank may add a tier).
INSERT INTO approval_limits (action_type, currency, approver_role, up_to_minor) VALUES
  ('liquidation.fills', 'BTC', 'treasury',     1000000000),
  ('liquidation.fills', 'BTC', 'risk_officer', NULL),
  ('loans.write_off',   'RUB', 'risk_officer', NULL);
