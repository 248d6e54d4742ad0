-- The loan's money, corrected (issue 16, items 10 and 12).
--
-- The repayment day bears interest (issue 16, item 10; docs/ARCHITECTURE.md "The loan"). Regulation
-- 39-P accrues interest on the balance at the start of each day, from the day after disbursement
-- through the day of repayment inclusive. A repayment that reduces the interest-bearing principal
-- on the bank's open day D first accrues D's interest on the day's opening balance; this column
-- records that D is done, so end of day D accrues no interest for that loan a second time (it still
-- does everything else: penalties, the due date, overdue, status).
ALTER TABLE loans ADD COLUMN interest_day_done date;

-- Loans to individuals follow the law's order of payments whatever their product said (issue 16,
-- item 12; 353-FZ art. 5 part 20): overdue interest, overdue principal, penalty, current interest,
-- current principal, then other payments. Live loans approved under another order take it now.
UPDATE loans SET wf_interest_overdue = 1, wf_principal_overdue = 2, wf_penalty = 3, wf_interest = 4, wf_principal = 5, wf_fee = 6
 WHERE borrower_kind = 'individual' AND status IN ('approved', 'active', 'overdue')
   AND (wf_interest_overdue, wf_principal_overdue, wf_penalty, wf_interest, wf_principal, wf_fee) IS DISTINCT FROM (1, 2, 3, 4, 5, 6);
