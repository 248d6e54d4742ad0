-- Issue 19: reminders before an instalment falls due and while one is overdue, and a miner's own
-- early-warning LTV, go out through the outbox the risk notices use (same channels, retries, dead
-- letters, receipts). They are not ladder transitions: such a row has no transition, carries its
-- facts (decimal strings) itself, and a key that makes queueing it twice a no-op.
ALTER TABLE risk_outbox ALTER COLUMN transition_id DROP NOT NULL;
ALTER TABLE risk_outbox ADD COLUMN facts jsonb;
ALTER TABLE risk_outbox ADD COLUMN dedupe_key text;
ALTER TABLE risk_outbox ADD COLUMN created_at timestamptz;
ALTER TABLE risk_outbox ADD CONSTRAINT risk_outbox_transition_or_facts
  CHECK ((transition_id IS NOT NULL AND facts IS NULL AND dedupe_key IS NULL)
      OR (transition_id IS NULL AND facts IS NOT NULL AND dedupe_key IS NOT NULL AND created_at IS NOT NULL));
CREATE UNIQUE INDEX risk_outbox_dedupe ON risk_outbox (dedupe_key, channel) WHERE dedupe_key IS NOT NULL;

-- A user's early-warning LTV (millionths, 600000 = 60%): a notice when a loan of its company
-- reaches it while the bank's ladder still says healthy. Null: none.
ALTER TABLE notice_preferences ADD COLUMN early_warning_ltv int8 CHECK (early_warning_ltv > 0 AND early_warning_ltv < 1000000);
