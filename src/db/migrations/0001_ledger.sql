-- The double-entry ledger. See docs/ARCHITECTURE.md, "Ledger invariants".
--
-- Amounts are signed integers in the currency's minor unit (kopecks for RUB, satoshis for BTC):
-- a debit is positive, a credit negative, so "balanced" is simply sum(amount) = 0 per currency.
-- The database itself enforces every invariant below, so no writer (this application, a script,
-- a psql session) can leave the books unbalanced or edit history:
--   1. a posting's entry exists, and its account exists in the posting's currency
--   2. postings may be added to an entry only in the transaction that created the entry
--   3. every INSERT statement into postings balances per entry and currency by itself; by
--      induction every entry then balances after every statement
--   4. at commit, every new entry has postings (deferred trigger); with 3 and amount <> 0, an
--      entry that has any posting has at least two
--   5. entries and postings are never updated, deleted or truncated    (corrections are reversals)

CREATE TABLE ledger_chart (
  code        text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,47}$'),
  name        text NOT NULL,
  -- Balance-sheet classes, and memo (off-balance) accounts that balance among themselves:
  -- the BTC collateral is the borrower's property held in custody, never the bank's asset.
  class       text NOT NULL CHECK (class IN ('asset', 'liability', 'equity', 'income', 'expense',
                                             'memo_debit', 'memo_credit')),
  currency    text NOT NULL CHECK (currency IN ('RUB', 'BTC')),
  -- 'none': one account for the whole bank; 'loan' / 'borrower': one account per loan or borrower.
  subledger   text NOT NULL CHECK (subledger IN ('none', 'loan', 'borrower')),
  -- The balance's normal side follows from the class: assets, expenses and memo debits are
  -- debit-normal; everything else credit-normal.
  normal_side text GENERATED ALWAYS AS (
    CASE WHEN class IN ('asset', 'expense', 'memo_debit') THEN 'debit' ELSE 'credit' END) STORED,
  UNIQUE (code, currency)
);

-- The chart, after the Bank of Russia's chart for credit institutions (Regulation 809-P); the
-- balance-sheet account numbers in the names are where each would sit in the bank's own books.
INSERT INTO ledger_chart (code, name, class, currency, subledger) VALUES
  ('cash_correspondent',     'Correspondent account with the Bank of Russia (30102)', 'asset',       'RUB', 'none'),
  ('borrower_settlement',    'Borrower settlement account (40702/40802/40817)',       'liability',   'RUB', 'borrower'),
  ('loan_principal',         'Loan principal receivable (452xx/455xx)',               'asset',       'RUB', 'loan'),
  ('loan_principal_overdue', 'Overdue loan principal (458xx)',                        'asset',       'RUB', 'loan'),
  ('interest_receivable',    'Accrued interest receivable (47427)',                   'asset',       'RUB', 'loan'),
  ('interest_overdue',       'Overdue interest receivable (459xx)',                   'asset',       'RUB', 'loan'),
  ('penalty_receivable',     'Penalties receivable (47427)',                          'asset',       'RUB', 'loan'),
  ('fee_receivable',         'Fees receivable (47423)',                               'asset',       'RUB', 'loan'),
  ('interest_income',        'Interest income (71001)',                               'income',      'RUB', 'none'),
  ('penalty_income',         'Penalty income (71001, fines and penalties)',           'income',      'RUB', 'none'),
  ('fee_income',             'Fee and commission income (71001)',                     'income',      'RUB', 'none'),
  ('suspense',               'Suspense: amounts awaiting clarification (47416)',      'liability',   'RUB', 'none'),
  ('loss_provisions',        'Loan loss provisions (45215, contra-asset)',            'liability',   'RUB', 'loan'),
  ('provision_expense',      'Provision charges (71002)',                             'expense',     'RUB', 'none'),
  ('bank_equity',            'Bank capital and retained earnings (102xx/108xx)',      'equity',      'RUB', 'none'),
  ('written_off_loans',      'Debt written off at a loss (memo, 91802)',              'memo_debit',  'RUB', 'loan'),
  ('written_off_contra',     'Contra for written-off debt (memo, 99999)',             'memo_credit', 'RUB', 'none'),
  ('collateral_held',        'BTC collateral held in custody (memo, 913xx)',          'memo_debit',  'BTC', 'none'),
  ('collateral_pledged',     'BTC collateral pledged by the borrower (memo, 99999)',  'memo_credit', 'BTC', 'loan');

CREATE TABLE ledger_accounts (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  chart_code    text NOT NULL,
  -- '' for bank-wide accounts; the loan or borrower reference for subledger accounts.
  subledger_key text NOT NULL DEFAULT '' CHECK (subledger_key ~ '^[A-Za-z0-9._-]{0,64}$'),
  currency      text NOT NULL,
  opened_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (chart_code, subledger_key),
  UNIQUE (id, currency),
  FOREIGN KEY (chart_code, currency) REFERENCES ledger_chart (code, currency)
);

-- A subledger account needs its key, and a bank-wide account must not have one.
CREATE FUNCTION ledger_accounts_check_subledger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  kind text;
BEGIN
  SELECT subledger INTO kind FROM ledger_chart WHERE code = NEW.chart_code;
  IF (kind = 'none') <> (NEW.subledger_key = '') THEN
    RAISE EXCEPTION 'ledger: account % must % a subledger key', NEW.chart_code,
      CASE WHEN kind = 'none' THEN 'not have' ELSE 'have' END
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER ledger_accounts_subledger BEFORE INSERT ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_accounts_check_subledger();

INSERT INTO ledger_accounts (chart_code, currency)
  SELECT code, currency FROM ledger_chart WHERE subledger = 'none';

CREATE TABLE ledger_entries (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  idempotency_key   text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  -- SHA-256 of the entry's canonical content: a replayed key with other content is refused.
  content_hash      text NOT NULL CHECK (length(content_hash) = 64),
  -- The bank's operational day the entry belongs to, and the moment it takes economic effect.
  business_date     date NOT NULL,
  value_time        timestamptz NOT NULL,
  reason            text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  -- What produced it: 'manual' for the raw API, later 'disbursement', 'accrual', ... . Length
  -- checks rather than patterns on this hot table: a regular expression per row cost half of
  -- the insert (measured); the writer is our own code and the values are only read.
  kind              text NOT NULL CHECK (length(kind) BETWEEN 2 AND 48),
  -- A correction is a reversal entry; an entry can be reversed once.
  reverses_entry_id bigint UNIQUE REFERENCES ledger_entries (id),
  recorded_at       timestamptz NOT NULL DEFAULT now(),
  -- The writing transaction (invariant 2); an INSERT that names another is refused.
  tx_id             bigint NOT NULL DEFAULT txid_current() CHECK (tx_id = txid_current())
);
CREATE INDEX ledger_entries_business_date ON ledger_entries (business_date);

-- entry_id and (account_id, currency) are foreign keys checked by the statement trigger below, set
-- based, instead of declared: declared ones run two index probes per row through RI triggers,
-- measured at 60% of the cost of inserting postings. Entries and accounts can never be deleted
-- or changed (append-only triggers), so the check at insert is the whole guarantee.
CREATE TABLE ledger_postings (
  entry_id   bigint NOT NULL,
  line       smallint NOT NULL CHECK (line >= 0),
  account_id bigint NOT NULL,
  currency   text NOT NULL,
  amount     bigint NOT NULL CHECK (amount <> 0),
  -- Copied from the entry (checked by trigger) so balances as of a time read one index.
  value_time timestamptz NOT NULL,
  PRIMARY KEY (entry_id, line),
  -- The money module's limits: 10^13 RUB in kopecks, 21,000,000 BTC in satoshis.
  CHECK (abs(amount) <= CASE currency WHEN 'RUB' THEN 1000000000000000
                                      ELSE 2100000000000000 END)
);
CREATE INDEX ledger_postings_account_time ON ledger_postings (account_id, value_time, entry_id);

-- Invariants 1, 2 and 3, set-based: one check per INSERT statement, whatever its size.
CREATE FUNCTION ledger_postings_check_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad_entry bigint;
BEGIN
  SELECT p.entry_id INTO bad_entry
    FROM new_postings p LEFT JOIN ledger_entries e ON e.id = p.entry_id
   WHERE e.tx_id IS DISTINCT FROM txid_current() OR p.value_time <> e.value_time
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger: postings of entry % must be written with the entry, at its value time',
      bad_entry USING ERRCODE = 'check_violation';
  END IF;
  SELECT p.entry_id INTO bad_entry
    FROM new_postings p LEFT JOIN ledger_accounts a ON a.id = p.account_id AND a.currency = p.currency
   WHERE a.id IS NULL
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger: entry % posts to an account that does not exist in the posting''s currency',
      bad_entry USING ERRCODE = 'foreign_key_violation';
  END IF;
  SELECT entry_id INTO bad_entry
    FROM new_postings GROUP BY entry_id, currency HAVING sum(amount) <> 0
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger: entry % does not balance', bad_entry
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_postings_check_statement AFTER INSERT ON ledger_postings
  REFERENCING NEW TABLE AS new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_check_statement();

-- Invariant 4, at commit: an entry cannot be left without postings.
CREATE FUNCTION ledger_entries_check_complete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ledger_postings WHERE entry_id = NEW.id) THEN
    RAISE EXCEPTION 'ledger: entry % needs at least two postings that balance per currency', NEW.id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_entries_check_complete AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_check_complete();

-- Invariant 5.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger: % is append-only (% refused); correct it with a reversal entry',
    TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_accounts_append_only BEFORE UPDATE OR DELETE ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_chart_append_only BEFORE UPDATE OR DELETE ON ledger_chart
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
