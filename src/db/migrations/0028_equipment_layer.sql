-- Machines as the second layer of a loan's cover (issue 20, item 3). A product may count pledged
-- machine groups (site_machines with serials) at their latest weighted valuation toward the cover,
-- up to a share of the cover it sets (terms collateral.equipment). The kopecks that count sit on
-- the loan's risk row next to its sats, so every trigger price, LTV and cure amount includes them;
-- a revaluation that changes them (a breach zeroes them) re-decides the loan in the same
-- transaction (src/underwriting/equipment-service.ts). Machines are never sold by a price tick: a
-- default enforces on them through a four-eyes decision (equipment_enforcements).

-- The machine groups an application offers, and the offer's counted layer with its inputs.
ALTER TABLE loan_applications ADD COLUMN equipment_machines int8[] NOT NULL DEFAULT '{}';
ALTER TABLE loan_offers ADD COLUMN equipment jsonb;

-- The most the machines may count for the life of the loan: the product's share of the cover at
-- origination, in kopecks (0 for a loan without machines).
ALTER TABLE loans ADD COLUMN equipment_cap_kopecks int8 NOT NULL DEFAULT 0 CHECK (equipment_cap_kopecks >= 0);

-- A machine group pledged to a loan from approval until the loan ends or the bank enforces on it.
-- One live pledge per group (the partial unique index): a group cannot secure two loans.
CREATE TABLE loan_equipment_pledges (
  id             int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  loan_id        int8 NOT NULL REFERENCES loans (id),
  machines_id    int8 NOT NULL REFERENCES site_machines (id),
  pledged_at     timestamptz NOT NULL,
  released_at    timestamptz,
  released_why   text CHECK (released_why IN ('loan_ended', 'enforced')),
  CHECK ((released_at IS NULL) = (released_why IS NULL))
);
CREATE UNIQUE INDEX loan_equipment_pledges_live ON loan_equipment_pledges (machines_id) WHERE released_at IS NULL;
CREATE INDEX loan_equipment_pledges_loan ON loan_equipment_pledges (loan_id);

-- The kopecks a loan's machines count for now: the latest valuation of each live pledge, weighted
-- by the policy it was made under (rounded down), summed, and capped by the loan's share.
CREATE FUNCTION loan_equipment_counted(loan int8) RETURNS int8 LANGUAGE sql STABLE AS $$
  SELECT least(l.equipment_cap_kopecks, coalesce((
           SELECT sum(div(v.value_kopecks::numeric * v.weight_bps, 10000))::int8
             FROM loan_equipment_pledges p
             JOIN LATERAL (SELECT value_kopecks, weight_bps FROM equipment_valuations WHERE machines_id = p.machines_id ORDER BY id DESC LIMIT 1) v ON true
            WHERE p.loan_id = l.id AND p.released_at IS NULL), 0))
    FROM loans l WHERE l.id = loan
$$;

ALTER TABLE loan_risk ADD COLUMN equipment_kopecks int8 NOT NULL DEFAULT 0 CHECK (equipment_kopecks >= 0);
ALTER TABLE risk_transitions ADD COLUMN equipment_kopecks int8 NOT NULL DEFAULT 0;

-- The trigger price with machines E counted at full: the LTV debt / (sats x price / 10^8 x
-- (1 - h) + E) reaches T at or below floor((debt x 10^6 - T x E) x 10^14 / (sats x (10^6 - h) x T));
-- 0 when the machines alone keep it under T, 2^62 - 1 when they do not and there are no sats
-- (ladder.ts triggerPrice, the same integer maths).
CREATE FUNCTION risk_trigger(debt int8, sats int8, haircut int8, threshold int8, equipment int8) RETURNS int8 LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN threshold IS NULL THEN NULL
              WHEN debt <= 0 THEN 0
              WHEN sats <= 0 THEN CASE WHEN debt::numeric * 1000000 >= threshold::numeric * equipment THEN 4611686018427387903 ELSE 0 END
              ELSE greatest(0, least(4611686018427387903::numeric,
                         div((debt::numeric * 1000000 - threshold::numeric * equipment) * 100000000000000, sats::numeric * (1000000 - haircut) * threshold)))::int8 END
$$;

CREATE FUNCTION risk_worsen_at(state text, debt int8, sats int8, equipment int8, l risk_ladders) RETURNS int8 LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE state
    WHEN 'healthy' THEN risk_trigger(debt, sats, l.haircut, l.warning, equipment)
    WHEN 'warning' THEN risk_trigger(debt, sats, l.haircut, l.margin_call, equipment)
    WHEN 'margin_call' THEN risk_trigger(debt, sats, l.haircut, coalesce(l.accelerated_call, l.liquidation), equipment)
    WHEN 'accelerated_call' THEN risk_trigger(debt, sats, l.haircut, l.liquidation, equipment)
  END
$$;
CREATE FUNCTION risk_improve_above(state text, debt int8, sats int8, equipment int8, l risk_ladders) RETURNS int8 LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE state
    WHEN 'warning' THEN risk_trigger(debt, sats, l.haircut, l.warning - l.band, equipment)
    WHEN 'margin_call' THEN risk_trigger(debt, sats, l.haircut, l.margin_call - l.band, equipment)
    WHEN 'accelerated_call' THEN risk_trigger(debt, sats, l.haircut, l.margin_call - l.band, equipment)
  END
$$;

-- As 0015's, with the machines: a new row takes the loan's counted machines, a changed one keeps
-- what the last revaluation set (end of day does not revalue machines; revaluation does).
CREATE OR REPLACE FUNCTION risk_refresh(ids int8[], collateral boolean) RETURNS void LANGUAGE sql AS $$
  INSERT INTO loan_risk AS r (loan_id, product_code, product_version, live, debt_kopecks, sats, equipment_kopecks, worsen_at, improve_above, state_since)
  SELECT l.id, l.product_code, l.product_version, x.live, x.debt, x.sats, x.equipment,
         CASE WHEN x.live THEN risk_worsen_at(coalesce(o.state, 'healthy'), x.debt, x.sats, x.equipment, lad) END,
         CASE WHEN x.live THEN risk_improve_above(coalesce(o.state, 'healthy'), x.debt, x.sats, x.equipment, lad) END,
         now()
    FROM (SELECT DISTINCT id FROM unnest(ids) AS i (id)) i
    JOIN loans l ON l.id = i.id
    JOIN risk_ladders lad ON lad.product_code = l.product_code AND lad.product_version = l.product_version
    LEFT JOIN loan_risk o ON o.loan_id = l.id
   CROSS JOIN LATERAL (SELECT l.status IN ('active', 'overdue') AS live,
                              l.principal + l.principal_overdue + l.interest + l.interest_overdue + l.penalty + l.fee AS debt,
                              CASE WHEN collateral OR o.loan_id IS NULL
                                   THEN coalesce((SELECT sum(c.sats) FROM collateral_positions c WHERE c.loan_id = l.id AND c.state IN ('confirmed', 'pledged')), 0)::int8
                                   ELSE o.sats END AS sats,
                              CASE WHEN o.loan_id IS NULL THEN CASE WHEN l.equipment_cap_kopecks > 0 THEN loan_equipment_counted(l.id) ELSE 0 END
                                   ELSE o.equipment_kopecks END AS equipment) x
   WHERE o.loan_id IS NOT NULL OR x.live
  ON CONFLICT (loan_id) DO UPDATE SET live = EXCLUDED.live, debt_kopecks = EXCLUDED.debt_kopecks, sats = EXCLUDED.sats,
         worsen_at = EXCLUDED.worsen_at, improve_above = EXCLUDED.improve_above, seq = nextval('loan_risk_seq')
   WHERE (r.live, r.debt_kopecks, r.sats) IS DISTINCT FROM (EXCLUDED.live, EXCLUDED.debt_kopecks, EXCLUDED.sats)
$$;
DROP FUNCTION risk_worsen_at(text, int8, int8, risk_ladders);
DROP FUNCTION risk_improve_above(text, int8, int8, risk_ladders);
DROP FUNCTION risk_trigger(int8, int8, int8, int8);

-- Enforcement on pledged machines after a default: decided by two people (the `equipment.enforce`
-- action: a credit officer proposes, a risk officer approves), which releases the pledges as
-- 'enforced' and zeroes the machines on the loan's risk row; the proceeds of their sale are then
-- recorded once (a repayment with the enforcement's reference through the loan's waterfall).
CREATE TABLE equipment_enforcements (
  id              int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  loan_id         int8 NOT NULL REFERENCES loans (id),
  machines        int8[] NOT NULL CHECK (cardinality(machines) > 0),
  -- The machines' latest valuations and the debt when the decision was made.
  valuation       jsonb NOT NULL,
  debt_kopecks    int8 NOT NULL,
  reason          text NOT NULL CHECK (length(reason) BETWEEN 3 AND 2000),
  approval_id     int8 NOT NULL REFERENCES approvals (id),
  decided_at      timestamptz NOT NULL,
  proceeds_kopecks int8 CHECK (proceeds_kopecks >= 0),
  proceeds_reference text,
  completed_at    timestamptz,
  completed_by    int8 REFERENCES users (id),
  CHECK ((completed_at IS NULL) = (proceeds_kopecks IS NULL))
);
CREATE INDEX equipment_enforcements_loan ON equipment_enforcements (loan_id);

-- Who approves an enforcement: a risk officer, whatever the debt (the bank may add a tier).
INSERT INTO approval_limits (action_type, currency, approver_role, up_to_minor) VALUES
  ('equipment.enforce', 'RUB', 'risk_officer', NULL);
