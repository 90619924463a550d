-- Quality evaluations: who edited an evaluation last, and when, next to its first evaluator
-- (the evaluator column keeps the name of whoever made it). Portable SQL: one file for both
-- databases.

ALTER TABLE qa_evaluations ADD COLUMN last_edited_by VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE qa_evaluations ADD COLUMN last_edited_at TIMESTAMP;
