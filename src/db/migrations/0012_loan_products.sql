-- Loan products, versioned (a loan keeps the version it was issued under), and the Bank of Russia
-- key-rate history floating rates read. See src/loans/product.ts.

CREATE TABLE loan_products (
  code        text PRIMARY KEY CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{1,31}$'),
  created_at  timestamptz NOT NULL,
  created_by  bigint NOT NULL REFERENCES users (id)
);

CREATE TABLE loan_product_versions (
  product_code text NOT NULL REFERENCES loan_products (code),
  version      integer NOT NULL CHECK (version > 0),
  -- Checked as a whole by productProblems() before it is stored.
  terms        jsonb NOT NULL,
  created_at   timestamptz NOT NULL,
  created_by   bigint NOT NULL REFERENCES users (id),
  PRIMARY KEY (product_code, version)
);
CREATE TRIGGER loan_product_versions_append_only BEFORE UPDATE OR DELETE ON loan_product_versions
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TABLE key_rates (
  effective_from  date PRIMARY KEY,
  -- Millionths a year: 16.5% = 165,000.
  rate_millionths bigint NOT NULL CHECK (rate_millionths BETWEEN 0 AND 1000000),
  source          text NOT NULL CHECK (length(source) BETWEEN 1 AND 200),
  recorded_by     bigint NOT NULL REFERENCES users (id),
  recorded_at     timestamptz NOT NULL
);
REVOKE UPDATE, DELETE, TRUNCATE ON loan_product_versions FROM zalog_app;
