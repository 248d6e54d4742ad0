-- End of day books one journal entry per batch of loans and day (a batch memorial order) instead
-- of one per loan: each loan keeps its own postings inside the entry, the income side is one
-- posting per income account. The batch is the loans whose ids fall in one aligned range
-- [k x size, (k + 1) x size), and its size is fixed when the day starts, so a run that resumes
-- after a crash cuts the same batches as the run it replaces. NULL for days closed before this
-- migration (one entry per loan).
ALTER TABLE eod_days ADD COLUMN entry_batch int4 CHECK (entry_batch BETWEEN 1 AND 1000);
