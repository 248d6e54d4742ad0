-- The repayment day bears interest (issue 16, item 10; docs/ARCHITECTURE.md "The loan"). Regulation
-- 39-P accrues interest on the balance at the start of each day, from the day after disbursement
-- through the day of repayment inclusive. A repayment that reduces the interest-bearing principal
-- on the bank's open day D first accrues D's interest on the day's opening balance; this column
-- records that D is done, so end of day D accrues no interest for that loan a second time (it still
-- does everything else: penalties, the due date, overdue, status).
ALTER TABLE loans ADD COLUMN interest_day_done date;
