-- Deleting a user forgets their tool runs and approvals (docs/security.md): found by who asked,
-- without reading the whole tables.
CREATE INDEX tool_runs_by_requester ON tool_runs (requested_by, status);
CREATE INDEX tool_approvals_by_requester ON tool_approvals (requested_by);
