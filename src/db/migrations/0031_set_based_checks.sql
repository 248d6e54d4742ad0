-- Two per-row checks become one check per statement (issue 21), as ledger_postings' were in 0001:
-- a loan opens seven ledger accounts and writes a schedule of a line a month, and loading many
-- loans at once (bench:eod's seed of 1,000,000, measured in docs/BENCHMARKS.md) spent most of its
-- time in a row trigger and foreign-key probes on these two tables. What is checked is the same,
-- with the same error codes; it is checked once per INSERT over the rows it wrote.
--
-- Safe as a statement check because the rows referred to can never change or go: the chart
-- (ledger_chart_append_only) and a schedule's versions (loan_schedule_versions_append_only) are
-- append-only, and TRUNCATE is refused on the ledger, so a check at insert is the whole guarantee.

-- ledger_accounts: a subledger account needs its key and a bank-wide one must not have one (was
-- the row trigger ledger_accounts_subledger), and its (chart code, currency) is in the chart (was
-- a foreign key).
DROP TRIGGER ledger_accounts_subledger ON ledger_accounts;
DROP FUNCTION ledger_accounts_check_subledger();
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_chart_code_currency_fkey;

CREATE FUNCTION ledger_accounts_check_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad record;
BEGIN
  SELECT a.chart_code, a.currency, c.subledger INTO bad
    FROM new_accounts a LEFT JOIN ledger_chart c ON c.code = a.chart_code AND c.currency = a.currency
   WHERE c.code IS NULL OR (c.subledger = 'none') <> (a.subledger_key = '')
   LIMIT 1;
  IF FOUND AND bad.subledger IS NULL THEN
    RAISE EXCEPTION 'ledger: account % in % is not in the chart of accounts', bad.chart_code, bad.currency
      USING ERRCODE = 'foreign_key_violation';
  ELSIF FOUND THEN
    RAISE EXCEPTION 'ledger: account % must % a subledger key', bad.chart_code,
      CASE WHEN bad.subledger = 'none' THEN 'not have' ELSE 'have' END
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_accounts_check_statement AFTER INSERT ON ledger_accounts
  REFERENCING NEW TABLE AS new_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_accounts_check_statement();

-- loan_schedule_lines: each line's (loan, version) is a schedule version (was a foreign key).
ALTER TABLE loan_schedule_lines DROP CONSTRAINT loan_schedule_lines_loan_id_version_fkey;

CREATE FUNCTION loan_schedule_lines_check_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad record;
BEGIN
  SELECT l.loan_id, l.version INTO bad
    FROM new_lines l LEFT JOIN loan_schedule_versions v ON v.loan_id = l.loan_id AND v.version = l.version
   WHERE v.loan_id IS NULL
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'schedule lines of loan % refer to version %, which does not exist', bad.loan_id, bad.version
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER loan_schedule_lines_check_statement AFTER INSERT ON loan_schedule_lines
  REFERENCING NEW TABLE AS new_lines
  FOR EACH STATEMENT EXECUTE FUNCTION loan_schedule_lines_check_statement();
-- A line's loan and version never change (the foreign key also held them on UPDATE).
CREATE FUNCTION loan_schedule_lines_keep_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a schedule line keeps its loan and version' USING ERRCODE = 'foreign_key_violation';
END $$;
CREATE TRIGGER loan_schedule_lines_keep_keys BEFORE UPDATE OF loan_id, version ON loan_schedule_lines
  FOR EACH ROW WHEN (OLD.loan_id <> NEW.loan_id OR OLD.version <> NEW.version)
  EXECUTE FUNCTION loan_schedule_lines_keep_keys();
