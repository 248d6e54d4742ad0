-- The loans' risk trigger refreshes from the rows the statement wrote (issue 21). Until now it
-- collected their ids and called risk_refresh, which looked each loan up again (a DISTINCT over
-- the ids, the loan row by primary key, its risk row, an upsert with ON CONFLICT). End of day
-- updates 50,000 loans a statement and the profile put 38% of the day there. The statement's
-- transition table already holds every updated loan's new balances and status: a loan that has
-- a risk row gets its exposure and its two trigger prices from it in one UPDATE ... FROM; only a
-- loan without one (its first refresh) goes the general way. The sats and the machines come from
-- the risk row as before (a change of the loan row alone does not change them), and a row whose
-- live flag and debt did not change is not written (no seq bump), as risk_refresh does.
CREATE OR REPLACE FUNCTION risk_after_loans() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7207101);
  UPDATE loan_risk r
     SET live = x.live, debt_kopecks = x.debt,
         worsen_at = CASE WHEN x.live THEN risk_worsen_at(r.state, x.debt, r.sats, r.equipment_kopecks, lad) END,
         improve_above = CASE WHEN x.live THEN risk_improve_above(r.state, x.debt, r.sats, r.equipment_kopecks, lad) END,
         seq = nextval('loan_risk_seq')
    -- The fence keeps x.debt a plain column, so the two small SQL functions are inlined (0029).
    FROM (SELECT n.id, n.product_code, n.product_version, n.status IN ('active', 'overdue') AS live,
                 n.principal + n.principal_overdue + n.interest + n.interest_overdue + n.penalty + n.fee AS debt
            FROM changed n OFFSET 0) x
    JOIN risk_ladders lad ON lad.product_code = x.product_code AND lad.product_version = x.product_version
   WHERE r.loan_id = x.id AND (r.live, r.debt_kopecks) IS DISTINCT FROM (x.live, x.debt);
  PERFORM risk_refresh(ARRAY(SELECT n.id FROM changed n WHERE NOT EXISTS (SELECT 1 FROM loan_risk r WHERE r.loan_id = n.id)), false);
  PERFORM pg_notify('zalog_risk', '');
  RETURN NULL;
END $$;
