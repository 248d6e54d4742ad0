-- End of day's risk refresh, four tenths faster (issue 21). Every chunk of end of day updates its
-- loans, and the loans' trigger refreshes their risk rows through risk_refresh. The profile
-- (bench:eod --profile, docs/BENCHMARKS.md) showed most of that time in risk_worsen_at and
-- risk_improve_above running as functions, once per row each: the planner inlines them only when
-- the arguments they read more than once are cheap, and the pulled-up lateral subquery made the
-- sats argument an expression holding a subplan. The same function, with the subquery fenced.

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
                                   ELSE o.equipment_kopecks END AS equipment
                        -- A fence: without it the planner pulls this subquery up, x.sats becomes an
                        -- expression holding a subplan, and risk_worsen_at / risk_improve_above (which
                        -- read their sats argument more than once) are no longer inlined but called,
                        -- as SQL functions, twice a row (issue 21; docs/BENCHMARKS.md).
                        OFFSET 0) x
   WHERE o.loan_id IS NOT NULL OR x.live
  ON CONFLICT (loan_id) DO UPDATE SET live = EXCLUDED.live, debt_kopecks = EXCLUDED.debt_kopecks, sats = EXCLUDED.sats,
         worsen_at = EXCLUDED.worsen_at, improve_above = EXCLUDED.improve_above, seq = nextval('loan_risk_seq')
   WHERE (r.live, r.debt_kopecks, r.sats) IS DISTINCT FROM (EXCLUDED.live, EXCLUDED.debt_kopecks, EXCLUDED.sats)
$$;
