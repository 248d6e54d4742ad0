-- What end of day changes daily lives in a narrow table of its own (issue 21, item 2).
--
-- End of day rewrote every live loan's whole row once a day to change a few balances: PostgreSQL
-- writes a new version of the entire row on any update, and the loan row had grown to about 344
-- bytes (terms, waterfall, account ids, review flags) around the 128 that change. Measured on
-- 200,000 loans (docs/BENCHMARKS.md), the balances' update on the wide row took 1.81 s against
-- 0.63 s on a table of its own.
--
-- So `loans` becomes two tables and a view:
--   loan_terms     what is set when the loan is made, or changes rarely (schedule version,
--                  maturity, months, default review, the equipment cap, account ids);
--   loan_balances  one row per loan of what end of day and servicing move: status, the day
--                  accrued through, the six balances, the two sub-kopeck remainders, the dates of
--                  overdue / closing / a manual day's interest, and the rate (a floating loan's
--                  rate resets at end of day);
--   loans          a view joining them, column for column as the table was, so every reader
--                  (API, views, reports, risk_refresh) reads the same figures unchanged. The view
--                  cannot be written: a writer names the table it changes (src/loans/servicing.ts
--                  and the others), and an update of the view fails loudly.
-- Invariants kept: every loan has exactly one balances row, written in the same transaction as
-- its terms (origination, seed); the balances still equal the loan's ledger accounts at every
-- commit; SELECT ... FROM loans ... FOR UPDATE locks both rows.
--
-- The foreign keys that referred to loans (id) follow the rename to loan_terms (id). The columns
-- dropped from loan_terms stay on disk in rows written before this migration until those rows
-- are rewritten; end of day no longer writes them, so nothing needs a rewrite.

ALTER TABLE loans RENAME TO loan_terms;
DROP TRIGGER loans_risk ON loan_terms;

CREATE TABLE loan_balances (
  loan_id             bigint PRIMARY KEY REFERENCES loan_terms (id),
  status              text NOT NULL CHECK (status IN ('approved', 'active', 'overdue', 'closed', 'cancelled')),
  -- The last day whose interest is accrued (end of day); the disbursement day at first.
  accrued_through     date,
  -- Balances in kopecks, equal to the loan's ledger accounts at every commit.
  principal           bigint NOT NULL DEFAULT 0 CHECK (principal >= 0),
  principal_overdue   bigint NOT NULL DEFAULT 0 CHECK (principal_overdue >= 0),
  interest            bigint NOT NULL DEFAULT 0 CHECK (interest >= 0),
  interest_overdue    bigint NOT NULL DEFAULT 0 CHECK (interest_overdue >= 0),
  penalty             bigint NOT NULL DEFAULT 0 CHECK (penalty >= 0),
  fee                 bigint NOT NULL DEFAULT 0 CHECK (fee >= 0),
  -- Sub-kopeck carries: interest in 1/(10^6 x 365 x 366) kopeck, penalties in 1/10^6 kopeck.
  interest_remainder  bigint NOT NULL DEFAULT 0 CHECK (interest_remainder >= 0 AND interest_remainder < 133590000000),
  penalty_remainder   bigint NOT NULL DEFAULT 0 CHECK (penalty_remainder >= 0 AND penalty_remainder < 1000000),
  overdue_since       date,
  closed_on           date,
  interest_day_done   date,
  rate_millionths     bigint NOT NULL CHECK (rate_millionths BETWEEN 0 AND 10000000)
-- End of day rewrites every live loan's row once a day; no index covers a column it changes and
-- pages keep room, so the new versions are HOT (no index entry written), as the loans table's were.
) WITH (fillfactor = 70);

INSERT INTO loan_balances (loan_id, status, accrued_through, principal, principal_overdue, interest, interest_overdue, penalty, fee,
                           interest_remainder, penalty_remainder, overdue_since, closed_on, interest_day_done, rate_millionths)
SELECT id, status, accrued_through, principal, principal_overdue, interest, interest_overdue, penalty, fee,
       interest_remainder, penalty_remainder, overdue_since, closed_on, interest_day_done, rate_millionths
  FROM loan_terms;

ALTER TABLE loan_terms
  DROP COLUMN status, DROP COLUMN accrued_through, DROP COLUMN principal, DROP COLUMN principal_overdue,
  DROP COLUMN interest, DROP COLUMN interest_overdue, DROP COLUMN penalty, DROP COLUMN fee,
  DROP COLUMN interest_remainder, DROP COLUMN penalty_remainder, DROP COLUMN overdue_since,
  DROP COLUMN closed_on, DROP COLUMN interest_day_done, DROP COLUMN rate_millionths;
-- The terms are written rarely now: full pages.
ALTER TABLE loan_terms SET (fillfactor = 100);

CREATE VIEW loans AS
SELECT t.id, t.ref, t.application_id, t.offer_id, t.approval_id, t.borrower_id, t.borrower_kind, t.product_code, t.product_version,
       t.amount_kopecks, t.months, t.repayment_type, t.interest_only_through, t.balloon_kopecks, t.rate_kind, b.rate_millionths,
       t.margin_millionths, t.rate_reset_months, t.penalty_millionths_per_day, t.fee_kopecks,
       t.wf_penalty, t.wf_interest_overdue, t.wf_principal_overdue, t.wf_interest, t.wf_principal, t.wf_fee,
       b.status, t.approved_at, t.disbursed_on, t.maturity_on, b.closed_on, b.accrued_through, t.schedule_version,
       b.principal, b.principal_overdue, b.interest, b.interest_overdue, b.penalty, b.fee, b.interest_remainder, b.penalty_remainder,
       b.overdue_since, t.default_review, t.default_review_reason,
       t.acc_principal, t.acc_principal_overdue, t.acc_interest, t.acc_interest_overdue, t.acc_penalty, t.acc_fee, t.acc_settlement,
       b.interest_day_done, t.equipment_cap_kopecks
  FROM loan_terms t JOIN loan_balances b ON b.loan_id = t.id;

-- The risk refresh after a change of balances or status: migration 0030's body, reading the
-- balances' transition table (loan_id) and the product from the risk row itself. Both lookups of
-- loan_risk are bounded by the statement's lowest and highest loan id. Unbounded, PostgreSQL
-- hashed all of loan_risk once per end-of-day chunk, twice: for the update, and for the check
-- for loans without a risk row. It read all 1,000,000 rows to find 50,000, about 0.5 s a chunk
-- (auto_explain on a seeded book). A chunk is a range of ids, so the bound is an index range.
CREATE FUNCTION risk_after_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  lo int8;
  hi int8;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7207101);
  SELECT min(n.loan_id), max(n.loan_id) INTO lo, hi FROM changed n;
  UPDATE loan_risk r
     SET live = x.live, debt_kopecks = x.debt,
         worsen_at = CASE WHEN x.live THEN risk_worsen_at(r.state, x.debt, r.sats, r.equipment_kopecks, lad) END,
         improve_above = CASE WHEN x.live THEN risk_improve_above(r.state, x.debt, r.sats, r.equipment_kopecks, lad) END,
         seq = nextval('loan_risk_seq')
    -- The fence keeps x.debt a plain column, so the two small SQL functions are inlined (0029).
    FROM (SELECT n.loan_id, n.status IN ('active', 'overdue') AS live,
                 n.principal + n.principal_overdue + n.interest + n.interest_overdue + n.penalty + n.fee AS debt
            FROM changed n OFFSET 0) x,
         risk_ladders lad
   WHERE r.loan_id = x.loan_id AND r.loan_id BETWEEN lo AND hi
     AND lad.product_code = r.product_code AND lad.product_version = r.product_version
     AND (r.live, r.debt_kopecks) IS DISTINCT FROM (x.live, x.debt);
  PERFORM risk_refresh(ARRAY(SELECT n.loan_id FROM changed n
                              WHERE NOT EXISTS (SELECT 1 FROM loan_risk r WHERE r.loan_id = n.loan_id AND r.loan_id BETWEEN lo AND hi)), false);
  PERFORM pg_notify('zalog_risk', '');
  RETURN NULL;
END $$;
CREATE TRIGGER loan_balances_risk AFTER UPDATE ON loan_balances REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION risk_after_balances();

-- A change of terms (rare: the equipment cap, a default review, a new schedule) refreshes the
-- loans it touched the general way, as every update of the loans table did before.
CREATE OR REPLACE FUNCTION risk_after_loans() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7207101);
  PERFORM risk_refresh(ARRAY(SELECT n.id FROM changed n), false);
  PERFORM pg_notify('zalog_risk', '');
  RETURN NULL;
END $$;
CREATE TRIGGER loan_terms_risk AFTER UPDATE ON loan_terms REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION risk_after_loans();
