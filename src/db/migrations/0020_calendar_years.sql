-- The business calendar a bank loads itself (issue 16, item 20): a year's days off and working
-- weekends as the government's decree publishes them, through `zalog calendar import` or the API,
-- audited. A year stored here replaces the year shipped in config/calendar; a new load of the same
-- year is a new row (the history is kept; the newest row of a year is in force).
CREATE TABLE calendar_years (
  id               int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  year             int4 NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  source           text NOT NULL CHECK (length(source) BETWEEN 1 AND 1000),
  holidays         date[] NOT NULL,
  working_weekends date[] NOT NULL,
  reason           text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  loaded_at        timestamptz NOT NULL,
  loaded_by        int8 NOT NULL REFERENCES users (id)
);
CREATE INDEX calendar_years_year ON calendar_years (year, id);
CREATE TRIGGER calendar_years_append_only BEFORE UPDATE OR DELETE ON calendar_years
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
