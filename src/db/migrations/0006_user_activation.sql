-- Segregation of duties for user administration (review of 2026-11-24): a user given a role that
-- moves money or administers users, through the API, is inactive until a second admin approves
-- its activation; otherwise one admin could create two officers and be both maker and checker.
ALTER TABLE users ADD COLUMN activation_pending boolean NOT NULL DEFAULT false;
