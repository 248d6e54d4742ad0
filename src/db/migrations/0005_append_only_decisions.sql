-- Decisions, once taken, are history (review of 2026-11-24): price cycles, quotes and
-- confirmations are append-only; a decided four-eyes proposal is never changed or removed, and
-- names its decider; a manual price can only be ended, once.

CREATE TRIGGER price_cycles_append_only BEFORE UPDATE OR DELETE ON price_cycles
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER price_cycles_no_truncate BEFORE TRUNCATE ON price_cycles
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER price_quotes_append_only BEFORE UPDATE OR DELETE ON price_quotes
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER price_quotes_no_truncate BEFORE TRUNCATE ON price_quotes
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER price_confirmations_append_only BEFORE UPDATE OR DELETE ON price_confirmations
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON price_cycles, price_quotes, price_confirmations FROM zalog_app;

ALTER TABLE approvals ADD CONSTRAINT approvals_decided_names_decider
  CHECK (status = 'pending' OR decided_by IS NOT NULL);

CREATE FUNCTION approvals_guard_decided() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'approvals: proposal % cannot be deleted', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.status <> 'pending' THEN
    RAISE EXCEPTION 'approvals: proposal % was already %; it cannot change', OLD.id, OLD.status USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.action_type <> OLD.action_type OR NEW.payload <> OLD.payload OR NEW.amounts <> OLD.amounts
     OR NEW.proposed_by <> OLD.proposed_by OR NEW.proposed_at <> OLD.proposed_at OR NEW.expires_at <> OLD.expires_at THEN
    RAISE EXCEPTION 'approvals: what proposal % proposes cannot change', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER approvals_guard_decided BEFORE UPDATE OR DELETE ON approvals
  FOR EACH ROW EXECUTE FUNCTION approvals_guard_decided();
REVOKE DELETE, TRUNCATE ON approvals FROM zalog_app;

CREATE FUNCTION price_manual_end_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR OLD.ended_at IS NOT NULL
     OR NEW.price_kopecks <> OLD.price_kopecks OR NEW.valid_from <> OLD.valid_from
     OR NEW.valid_until <> OLD.valid_until OR NEW.reason <> OLD.reason OR NEW.approval_id <> OLD.approval_id THEN
    RAISE EXCEPTION 'price_manual: a manual price can only be ended, once' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER price_manual_end_only BEFORE UPDATE OR DELETE ON price_manual
  FOR EACH ROW EXECUTE FUNCTION price_manual_end_only();
REVOKE DELETE, TRUNCATE ON price_manual FROM zalog_app;
