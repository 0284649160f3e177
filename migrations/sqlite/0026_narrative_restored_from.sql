-- A restored narrative version names the version it restored (psyche_purpose rollback).
ALTER TABLE psyche_purpose_versions ADD COLUMN restored_from INTEGER;
