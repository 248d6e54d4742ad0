-- Loans: applications and offers, the loan with its balances and schedule versions, collateral
-- positions, payment orders, repayments, end of day. See docs/ARCHITECTURE.md, "The loan".
--
-- The ledger is the truth about money; a loan row keeps its balances too (so end of day is one
-- set-based pass) and every change to them is made in the transaction that posts the entry.
-- `zalog loans reconcile` and the property tests compare the two.

CREATE TABLE loan_applications (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  borrower_id      bigint NOT NULL REFERENCES borrowers (id),
  product_code     text NOT NULL,
  product_version  integer NOT NULL,
  amount_kopecks   bigint NOT NULL CHECK (amount_kopecks BETWEEN 1 AND 1000000000000000),
  months           integer NOT NULL CHECK (months BETWEEN 1 AND 120),
  repayment_type   text NOT NULL CHECK (repayment_type IN ('annuity', 'bullet', 'interest_only')),
  -- What the borrower says it will pledge.
  collateral_sats  bigint NOT NULL CHECK (collateral_sats BETWEEN 1 AND 2100000000000000),
  status           text NOT NULL CHECK (status IN ('offered', 'approved', 'withdrawn')),
  created_by       bigint NOT NULL REFERENCES users (id),
  created_at       timestamptz NOT NULL,
  FOREIGN KEY (product_code, product_version) REFERENCES loan_product_versions (product_code, version)
);
CREATE INDEX loan_applications_borrower ON loan_applications (borrower_id, id);

-- An offer is what the bank computed for an application at a moment; a new one supersedes it.
CREATE TABLE loan_offers (
  id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id          bigint NOT NULL REFERENCES loan_applications (id),
  created_at              timestamptz NOT NULL,
  valid_until             timestamptz NOT NULL,
  planned_start           date NOT NULL,
  rate_millionths         bigint NOT NULL CHECK (rate_millionths BETWEEN 0 AND 10000000),
  key_rate_millionths     bigint,
  fee_kopecks             bigint NOT NULL CHECK (fee_kopecks >= 0),
  price_kopecks           bigint NOT NULL CHECK (price_kopecks > 0),
  price_cycle_id          bigint NOT NULL REFERENCES price_cycles (id),
  collateral_required_sats bigint NOT NULL CHECK (collateral_required_sats > 0),
  schedule                jsonb NOT NULL,
  total_interest_kopecks  bigint NOT NULL,
  total_cost_kopecks      bigint NOT NULL,
  -- 353-FZ art. 6: for individuals, percent with three decimals and the cost in money.
  psk_percent             text,
  psk_kopecks             bigint,
  compliance              jsonb NOT NULL,
  underwriting_report_id  bigint REFERENCES underwriting_reports (id),
  underwriting            jsonb,
  blocking_reasons        text[] NOT NULL
);
CREATE TRIGGER loan_offers_append_only BEFORE UPDATE OR DELETE ON loan_offers
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE SEQUENCE loans_id_seq;
CREATE TABLE loans (
  id                  bigint PRIMARY KEY,
  ref                 text NOT NULL UNIQUE CHECK (ref ~ '^LN-[0-9]{1,18}$'),
  application_id      bigint NOT NULL UNIQUE REFERENCES loan_applications (id),
  offer_id            bigint NOT NULL REFERENCES loan_offers (id),
  approval_id         bigint REFERENCES approvals (id),
  borrower_id         bigint NOT NULL REFERENCES borrowers (id),
  borrower_kind       text NOT NULL CHECK (borrower_kind IN ('company', 'entrepreneur', 'individual')),
  product_code        text NOT NULL,
  product_version     integer NOT NULL,
  amount_kopecks      bigint NOT NULL CHECK (amount_kopecks > 0),
  months              integer NOT NULL,
  repayment_type      text NOT NULL,
  interest_only_through integer NOT NULL DEFAULT 0,
  balloon_kopecks     bigint NOT NULL DEFAULT 0,
  rate_kind           text NOT NULL CHECK (rate_kind IN ('fixed', 'floating')),
  rate_millionths     bigint NOT NULL CHECK (rate_millionths BETWEEN 0 AND 10000000),
  margin_millionths   bigint,
  rate_reset_months   integer CHECK (rate_reset_months IN (1, 3)),
  penalty_millionths_per_day bigint NOT NULL CHECK (penalty_millionths_per_day >= 0),
  fee_kopecks         bigint NOT NULL CHECK (fee_kopecks >= 0),
  -- The waterfall's order as positions 1..6 of each bucket (set-based allocation reads them).
  wf_penalty smallint NOT NULL, wf_interest_overdue smallint NOT NULL, wf_principal_overdue smallint NOT NULL,
  wf_interest smallint NOT NULL, wf_principal smallint NOT NULL, wf_fee smallint NOT NULL,
  status              text NOT NULL CHECK (status IN ('approved', 'active', 'overdue', 'closed', 'cancelled')),
  approved_at         timestamptz NOT NULL,
  disbursed_on        date,
  maturity_on         date,
  closed_on           date,
  -- The last day whose interest is accrued (end of day); the disbursement day at first.
  accrued_through     date,
  schedule_version    integer NOT NULL DEFAULT 0,
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
  default_review      boolean NOT NULL DEFAULT false,
  default_review_reason text,
  -- Ledger account ids, so end of day posts without looking accounts up by name.
  acc_principal bigint, acc_principal_overdue bigint, acc_interest bigint, acc_interest_overdue bigint,
  acc_penalty bigint, acc_fee bigint, acc_settlement bigint,
  FOREIGN KEY (product_code, product_version) REFERENCES loan_product_versions (product_code, version)
) WITH (fillfactor = 70);
-- End of day rewrites every live loan's row once a day. No index covers a column it changes and
-- pages keep room, so the new row versions are HOT (no index entries written): measured to matter
-- at 1,000,000 loans. End of day walks the loans by primary key instead of an index on
-- accrued_through for the same reason.
CREATE INDEX loans_borrower ON loans (borrower_id, id);

-- What is on each borrower's settlement account (40702/40802/40817), in step with the ledger.
ALTER TABLE borrowers ADD COLUMN settlement_kopecks bigint NOT NULL DEFAULT 0 CHECK (settlement_kopecks >= 0);

CREATE TABLE loan_schedule_versions (
  loan_id     bigint NOT NULL REFERENCES loans (id),
  version     integer NOT NULL CHECK (version > 0),
  kind        text NOT NULL CHECK (kind IN ('disbursement', 'prepayment', 'restructuring')),
  reason      text NOT NULL,
  business_date date NOT NULL,
  created_at  timestamptz NOT NULL,
  created_by  bigint REFERENCES users (id),
  PRIMARY KEY (loan_id, version)
);
CREATE TRIGGER loan_schedule_versions_append_only BEFORE UPDATE OR DELETE ON loan_schedule_versions
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- A version holds the whole schedule: the lines before it took over are copied from the previous.
CREATE TABLE loan_schedule_lines (
  loan_id     bigint NOT NULL,
  version     integer NOT NULL,
  number      integer NOT NULL CHECK (number > 0),
  due_date    date NOT NULL,
  days        integer NOT NULL,
  principal   bigint NOT NULL CHECK (principal >= 0),
  -- Planned interest; what was actually due is set by end of day on the due date.
  interest    bigint NOT NULL CHECK (interest >= 0),
  balance     bigint NOT NULL CHECK (balance >= 0),
  interest_due bigint,
  PRIMARY KEY (loan_id, version, number),
  FOREIGN KEY (loan_id, version) REFERENCES loan_schedule_versions (loan_id, version)
);
CREATE INDEX loan_schedule_lines_due ON loan_schedule_lines (due_date, loan_id, version);

CREATE TABLE collateral_positions (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  loan_id       bigint NOT NULL REFERENCES loans (id),
  sats          bigint NOT NULL CHECK (sats BETWEEN 1 AND 2100000000000000),
  state         text NOT NULL CHECK (state IN ('pending', 'confirmed', 'pledged', 'released', 'liquidated')),
  -- The custodian's reference for the deposit, unique: one deposit confirms one position.
  custodian_ref text UNIQUE,
  declared_at   timestamptz NOT NULL,
  declared_by   bigint NOT NULL REFERENCES users (id),
  confirmed_at  timestamptz,
  confirmed_approval_id bigint REFERENCES approvals (id),
  released_at   timestamptz,
  ledger_entry_id bigint
);
CREATE INDEX collateral_positions_loan ON collateral_positions (loan_id, id);

CREATE TABLE collateral_releases (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  loan_id     bigint NOT NULL UNIQUE REFERENCES loans (id),
  sats        bigint NOT NULL CHECK (sats >= 0),
  status      text NOT NULL CHECK (status IN ('open', 'executed')),
  created_on  date NOT NULL,
  executed_at timestamptz,
  approval_id bigint REFERENCES approvals (id)
);

-- Outgoing payments the bank's payment rails carry out (out of scope here): recorded with the
-- beneficiary's BIK and account as they were when the order was made.
CREATE TABLE payment_orders (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  loan_id       bigint REFERENCES loans (id),
  borrower_id   bigint NOT NULL REFERENCES borrowers (id),
  kind          text NOT NULL CHECK (kind IN ('disbursement', 'refund')),
  amount_kopecks bigint NOT NULL CHECK (amount_kopecks > 0),
  bik           text NOT NULL,
  account       text NOT NULL,
  purpose       text NOT NULL,
  business_date date NOT NULL,
  created_at    timestamptz NOT NULL,
  ledger_entry_id bigint NOT NULL
);
CREATE TRIGGER payment_orders_append_only BEFORE UPDATE OR DELETE ON payment_orders
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- Incoming payments, one per bank reference (a replay with the same content is the same payment).
CREATE TABLE repayments (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  loan_id       bigint NOT NULL REFERENCES loans (id),
  reference     text NOT NULL UNIQUE CHECK (reference ~ '^[A-Za-z0-9._/-]{1,64}$'),
  amount_kopecks bigint NOT NULL CHECK (amount_kopecks > 0),
  business_date date NOT NULL,
  allocation    jsonb NOT NULL,
  left_kopecks  bigint NOT NULL,
  recorded_by   bigint NOT NULL REFERENCES users (id),
  recorded_at   timestamptz NOT NULL,
  ledger_entry_id bigint NOT NULL
);
CREATE INDEX repayments_loan ON repayments (loan_id, id);
CREATE TRIGGER repayments_append_only BEFORE UPDATE OR DELETE ON repayments
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- What happened to a loan, in order: status changes, rate resets, default reviews, schedule versions.
CREATE TABLE loan_events (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  loan_id       bigint NOT NULL REFERENCES loans (id),
  business_date date NOT NULL,
  kind          text NOT NULL,
  details       jsonb NOT NULL DEFAULT '{}',
  at            timestamptz NOT NULL
);
CREATE INDEX loan_events_loan ON loan_events (loan_id, id);

-- End of day, one row per business day closed. `finished_at` is set when no live loan is left
-- behind the day; a crash leaves it null and the next run finishes the day.
CREATE TABLE eod_days (
  business_date date PRIMARY KEY,
  started_at    timestamptz NOT NULL,
  finished_at   timestamptz,
  loans         bigint NOT NULL DEFAULT 0,
  entries       bigint NOT NULL DEFAULT 0,
  -- compliance_events up to this id have been read for default reviews.
  compliance_event_id bigint NOT NULL DEFAULT 0
);

INSERT INTO approval_limits (action_type, currency, approver_role, up_to_minor) VALUES
  -- A second credit officer approves loans up to 10,000,000.00 RUB; above that, a risk officer.
  ('loans.approve',       'RUB', 'credit_officer', 1000000000),
  ('loans.approve',       'RUB', 'risk_officer',   NULL),
  -- Treasury confirms custodian deposits and releases up to 10 BTC; above that, with a risk officer.
  ('collateral.confirm',  'BTC', 'treasury',       1000000000),
  ('collateral.confirm',  'BTC', 'risk_officer',   NULL),
  ('collateral.release',  'BTC', 'treasury',       1000000000),
  ('collateral.release',  'BTC', 'risk_officer',   NULL),
  -- Restructuring follows the loan approval limits, on the principal rescheduled.
  ('loans.restructure',   'RUB', 'credit_officer', 1000000000),
  ('loans.restructure',   'RUB', 'risk_officer',   NULL);

REVOKE UPDATE, DELETE, TRUNCATE ON loan_offers, loan_schedule_versions, payment_orders, repayments FROM zalog_app;
