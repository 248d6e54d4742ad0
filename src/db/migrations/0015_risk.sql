-- The risk engine (issue 7): each live loan's exposure and trigger prices, its place on the LTV
-- ladder, the transitions it made and the messages that tell the borrower. See src/risk/.

-- The ladder of each product version in millionths, read from its terms when the version is
-- stored (the terms were checked by productProblems() first). The hysteresis band and the
-- accelerated call are optional in the terms: 5 points and none by default.
CREATE TABLE risk_ladders (
  product_code     text NOT NULL,
  product_version  integer NOT NULL,
  warning          int8 NOT NULL,
  margin_call      int8 NOT NULL,
  accelerated_call int8,
  liquidation      int8 NOT NULL,
  target           int8 NOT NULL,
  band             int8 NOT NULL,
  haircut          int8 NOT NULL CHECK (haircut >= 0 AND haircut < 1000000),
  cure_hours       int4 NOT NULL,
  accelerated_cure_hours int4,
  PRIMARY KEY (product_code, product_version),
  FOREIGN KEY (product_code, product_version) REFERENCES loan_product_versions (product_code, version),
  CHECK (warning < margin_call AND margin_call < coalesce(accelerated_call, margin_call + 1)
         AND coalesce(accelerated_call, margin_call) < liquidation AND band >= 0 AND band < warning)
);

-- "12.5" (a percentage with up to 4 decimals) as millionths: exact, 4 decimals of a percent.
CREATE FUNCTION risk_millionths(percent text) RETURNS int8 LANGUAGE sql IMMUTABLE AS
$$ SELECT (percent::numeric * 10000)::int8 $$;

-- A product version's ladder from its terms (one place for the parsing: the trigger and the backfill).
CREATE FUNCTION risk_ladder_of(code text, version integer, terms jsonb) RETURNS risk_ladders LANGUAGE sql IMMUTABLE AS $$
  SELECT code, version,
         risk_millionths(terms #>> '{collateral,ltv,warning}'),
         risk_millionths(terms #>> '{collateral,ltv,marginCall}'),
         risk_millionths(terms #>> '{collateral,ltv,acceleratedCall}'),
         risk_millionths(terms #>> '{collateral,ltv,liquidation}'),
         risk_millionths(terms #>> '{collateral,ltv,target}'),
         risk_millionths(coalesce(terms #>> '{collateral,ltv,hysteresisPoints}', '5')),
         risk_millionths(terms #>> '{collateral,haircutPercent}'),
         (terms #>> '{collateral,curePeriodHours}')::int4,
         (terms #>> '{collateral,acceleratedCureHours}')::int4
$$;

CREATE FUNCTION risk_ladder_from_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO risk_ladders SELECT * FROM risk_ladder_of(NEW.product_code, NEW.version, NEW.terms);
  RETURN NULL;
END $$;
CREATE TRIGGER loan_product_versions_ladder AFTER INSERT ON loan_product_versions
  FOR EACH ROW EXECUTE FUNCTION risk_ladder_from_terms();
INSERT INTO risk_ladders SELECT l.* FROM loan_product_versions v, LATERAL risk_ladder_of(v.product_code, v.version, v.terms) l;

-- The highest price (kopecks per BTC) at which debt / (sats x price / 10^8 x (1 - haircut)) is at
-- least the threshold: src/risk/ladder.ts triggerPrice, the same integer maths (0 when nothing is
-- owed, 2^62 - 1 without collateral).
CREATE FUNCTION risk_trigger(debt int8, sats int8, haircut int8, threshold int8) RETURNS int8 LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN threshold IS NULL THEN NULL
              WHEN debt <= 0 THEN 0
              WHEN sats <= 0 THEN 4611686018427387903
              ELSE least(4611686018427387903::numeric,
                         div(debt::numeric * 100000000000000000000, sats::numeric * (1000000 - haircut) * threshold))::int8 END
$$;

-- A live loan's exposure and its place on the ladder. Every statement that changes a loan's
-- balances or status, or its collateral, refreshes its row here in the same transaction (the
-- triggers below); the risk engine decides the state and writes it with its transition. A loan
-- that stops being live keeps its row with live = false and no triggers.
CREATE SEQUENCE loan_risk_seq;
CREATE TABLE loan_risk (
  loan_id          int8 PRIMARY KEY REFERENCES loans (id),
  product_code     text NOT NULL,
  product_version  integer NOT NULL,
  live             boolean NOT NULL,
  state            text NOT NULL DEFAULT 'healthy' CHECK (state IN ('healthy', 'warning', 'margin_call', 'accelerated_call', 'liquidation')),
  -- Kopecks owed (principal, interest, penalties, fees, current and overdue) and confirmed sats.
  debt_kopecks     int8 NOT NULL CHECK (debt_kopecks >= 0),
  sats             int8 NOT NULL CHECK (sats >= 0),
  -- The two prices that matter in the state (ladder.ts triggersAt): at or below worsen_at the loan
  -- climbs the ladder, above improve_above it steps down. NULL when it cannot.
  worsen_at        int8,
  improve_above    int8,
  state_since      timestamptz NOT NULL,
  -- The open call's deadline (bank business hours), and the transition that opened it.
  call_deadline    timestamptz,
  -- Bumped on every change: the engine reads the rows changed since the last one it saw.
  seq              int8 NOT NULL DEFAULT nextval('loan_risk_seq'),
  FOREIGN KEY (product_code, product_version) REFERENCES risk_ladders (product_code, product_version)
);
CREATE INDEX loan_risk_worsen ON loan_risk (worsen_at) WHERE worsen_at IS NOT NULL;
CREATE INDEX loan_risk_improve ON loan_risk (improve_above) WHERE improve_above IS NOT NULL;
CREATE INDEX loan_risk_seq_index ON loan_risk (seq);
CREATE INDEX loan_risk_call_deadline ON loan_risk (call_deadline) WHERE call_deadline IS NOT NULL;

-- The two trigger prices of a state (ladder.ts triggersAt over ladder.ts levels).
CREATE FUNCTION risk_worsen_at(state text, debt int8, sats int8, l risk_ladders) RETURNS int8 LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE state
    WHEN 'healthy' THEN risk_trigger(debt, sats, l.haircut, l.warning)
    WHEN 'warning' THEN risk_trigger(debt, sats, l.haircut, l.margin_call)
    WHEN 'margin_call' THEN risk_trigger(debt, sats, l.haircut, coalesce(l.accelerated_call, l.liquidation))
    WHEN 'accelerated_call' THEN risk_trigger(debt, sats, l.haircut, l.liquidation)
  END
$$;
CREATE FUNCTION risk_improve_above(state text, debt int8, sats int8, l risk_ladders) RETURNS int8 LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE state
    WHEN 'warning' THEN risk_trigger(debt, sats, l.haircut, l.warning - l.band)
    WHEN 'margin_call' THEN risk_trigger(debt, sats, l.haircut, l.margin_call - l.band)
    WHEN 'accelerated_call' THEN risk_trigger(debt, sats, l.haircut, l.margin_call - l.band)
  END
$$;

-- Refreshes the exposure of the given loans (debt from their balances; with `collateral`, their
-- confirmed and pledged sats) and their triggers in their current state; writes only rows that change.
CREATE FUNCTION risk_refresh(ids int8[], collateral boolean) RETURNS void LANGUAGE sql AS $$
  INSERT INTO loan_risk AS r (loan_id, product_code, product_version, live, debt_kopecks, sats, worsen_at, improve_above, state_since)
  SELECT l.id, l.product_code, l.product_version, x.live, x.debt, x.sats,
         CASE WHEN x.live THEN risk_worsen_at(coalesce(o.state, 'healthy'), x.debt, x.sats, lad) END,
         CASE WHEN x.live THEN risk_improve_above(coalesce(o.state, 'healthy'), x.debt, x.sats, lad) END,
         now()
    FROM (SELECT DISTINCT id FROM unnest(ids) AS i (id)) i
    JOIN loans l ON l.id = i.id
    JOIN risk_ladders lad ON lad.product_code = l.product_code AND lad.product_version = l.product_version
    LEFT JOIN loan_risk o ON o.loan_id = l.id
   CROSS JOIN LATERAL (SELECT l.status IN ('active', 'overdue') AS live,
                              l.principal + l.principal_overdue + l.interest + l.interest_overdue + l.penalty + l.fee AS debt,
                              -- A change of the loan row alone keeps the sats it has (end of day does not look at
                              -- 50,000 loans' positions again); a change of positions sums them.
                              CASE WHEN collateral OR o.loan_id IS NULL
                                   THEN coalesce((SELECT sum(c.sats) FROM collateral_positions c WHERE c.loan_id = l.id AND c.state IN ('confirmed', 'pledged')), 0)::int8
                                   ELSE o.sats END AS sats) x
   WHERE o.loan_id IS NOT NULL OR x.live
  ON CONFLICT (loan_id) DO UPDATE SET live = EXCLUDED.live, debt_kopecks = EXCLUDED.debt_kopecks, sats = EXCLUDED.sats,
         worsen_at = EXCLUDED.worsen_at, improve_above = EXCLUDED.improve_above, seq = nextval('loan_risk_seq')
   WHERE (r.live, r.debt_kopecks, r.sats) IS DISTINCT FROM (EXCLUDED.live, EXCLUDED.debt_kopecks, EXCLUDED.sats)
$$;

-- The shared lock (key 7207101) is held by every transaction that changes exposures until it ends;
-- the engine takes it exclusively to read the changes, so it never reads past a change that has a
-- lower seq but has not committed yet (src/risk/risk-store.ts changesSince).
CREATE FUNCTION risk_after_loans() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7207101);
  PERFORM risk_refresh(ARRAY(SELECT n.id FROM changed n), false);
  PERFORM pg_notify('zalog_risk', '');
  RETURN NULL;
END $$;
CREATE TRIGGER loans_risk AFTER UPDATE ON loans REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION risk_after_loans();

CREATE FUNCTION risk_after_collateral() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7207101);
  PERFORM risk_refresh(ARRAY(SELECT DISTINCT n.loan_id FROM changed n), true);
  PERFORM pg_notify('zalog_risk', '');
  RETURN NULL;
END $$;
CREATE TRIGGER collateral_positions_risk_insert AFTER INSERT ON collateral_positions REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION risk_after_collateral();
CREATE TRIGGER collateral_positions_risk_update AFTER UPDATE ON collateral_positions REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION risk_after_collateral();

-- What the engine decided: append-only. The accepted price with its cycle (whose row holds the
-- source quotes), the LTV at it, and the product version whose ladder decided.
CREATE TABLE risk_transitions (
  id               int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  loan_id          int8 NOT NULL REFERENCES loans (id),
  from_state       text NOT NULL,
  to_state         text NOT NULL,
  -- 'price' (a tick), 'exposure' (a repayment, a top-up, accrual, re-decided at the last price),
  -- 'deadline' (a call expired uncured).
  cause            text NOT NULL CHECK (cause IN ('price', 'exposure', 'deadline')),
  price_kopecks    int8 NOT NULL,
  price_cycle_id   int8 REFERENCES price_cycles (id),
  debt_kopecks     int8 NOT NULL,
  sats             int8 NOT NULL,
  ltv_millionths   int8,
  product_code     text NOT NULL,
  product_version  integer NOT NULL,
  call_deadline    timestamptz,
  at               timestamptz NOT NULL
);
CREATE INDEX risk_transitions_loan ON risk_transitions (loan_id, id);
CREATE TRIGGER risk_transitions_append_only BEFORE UPDATE OR DELETE ON risk_transitions
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- The transactional outbox: one row per transition and channel, written with the transition.
-- Workers claim due rows (SKIP LOCKED), deliver, and record the receipt; after the last attempt a
-- row is dead-lettered for a person to look at.
CREATE TABLE risk_outbox (
  id               int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transition_id    int8 NOT NULL REFERENCES risk_transitions (id),
  loan_id          int8 NOT NULL REFERENCES loans (id),
  channel          text NOT NULL CHECK (channel IN ('webhook', 'email')),
  topic            text NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead', 'skipped')),
  attempts         int4 NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  last_error       text,
  delivered_at     timestamptz,
  -- What the other side answered: the HTTP status and body digest, the SMTP server's reply.
  receipt          jsonb,
  UNIQUE (transition_id, channel)
);
CREATE INDEX risk_outbox_due ON risk_outbox (next_attempt_at) WHERE status = 'pending';

-- A borrower's acknowledgement of a call or notice (portal or API): once per transition.
CREATE TABLE risk_acknowledgements (
  transition_id    int8 PRIMARY KEY REFERENCES risk_transitions (id),
  user_id          int8 NOT NULL REFERENCES users (id),
  at               timestamptz NOT NULL
);
CREATE TRIGGER risk_acknowledgements_append_only BEFORE UPDATE OR DELETE ON risk_acknowledgements
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

REVOKE UPDATE, DELETE, TRUNCATE ON risk_transitions, risk_acknowledgements FROM zalog_app;

-- Every live loan gets its row now.
SELECT risk_refresh(ARRAY(SELECT id FROM loans WHERE status IN ('active', 'overdue')), true);

-- Where a borrower is told about its loans' risk: an e-mail address and a webhook (URL and the
-- HMAC key its payloads are signed with). Set by a credit officer; one row per borrower.
CREATE TABLE risk_contacts (
  borrower_id      int8 PRIMARY KEY REFERENCES borrowers (id),
  email            text CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
  webhook_url      text CHECK (webhook_url ~ '^https?://' AND length(webhook_url) <= 2000),
  webhook_secret   text CHECK (length(webhook_secret) BETWEEN 32 AND 128),
  updated_at       timestamptz NOT NULL,
  updated_by       int8 NOT NULL REFERENCES users (id),
  CHECK ((webhook_url IS NULL) = (webhook_secret IS NULL))
);
