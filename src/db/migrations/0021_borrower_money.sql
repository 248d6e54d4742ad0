-- The borrower's own money (issue 16, item 15): a payment to a closed loan goes to suspense with its
-- reason instead of being refused, and money on the settlement account or in suspense goes back by
-- a refund order to the borrower's bank details under four eyes (payment_orders kind 'refund').
CREATE TABLE suspense_items (
  id              int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  borrower_id     int8 NOT NULL REFERENCES borrowers (id),
  loan_id         int8 REFERENCES loans (id),
  reference       text NOT NULL,
  amount_kopecks  int8 NOT NULL CHECK (amount_kopecks > 0),
  reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'refunded')),
  business_date   date NOT NULL,
  created_at      timestamptz NOT NULL,
  ledger_entry_id int8 NOT NULL,
  refund_order_id int8 REFERENCES payment_orders (id),
  CHECK ((status = 'refunded') = (refund_order_id IS NOT NULL))
);
CREATE INDEX suspense_items_borrower ON suspense_items (borrower_id, id);

ALTER TABLE repayments ADD COLUMN suspense_item_id int8 REFERENCES suspense_items (id);
ALTER TABLE payment_orders ADD COLUMN approval_id int8 REFERENCES approvals (id);

-- Who approves a refund: a second treasurer up to 1,000,000.00 RUB, a risk officer above.
INSERT INTO approval_limits (action_type, currency, approver_role, up_to_minor) VALUES
  ('settlement.refund', 'RUB', 'treasury',     100000000),
  ('settlement.refund', 'RUB', 'risk_officer', NULL),
  ('suspense.refund',   'RUB', 'treasury',     100000000),
  ('suspense.refund',   'RUB', 'risk_officer', NULL);
