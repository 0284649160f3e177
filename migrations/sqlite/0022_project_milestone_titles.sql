-- Agent milestones of projects named the project or its task, and every user reads the agent's
-- milestones (the narrative takes them in too): they are retitled as new ones are titled.
UPDATE psyche_purpose_milestones
SET title = CASE kind
  WHEN 'project_completed' THEN 'Completed a project'
  ELSE 'A project reached a milestone'
END
WHERE kind IN ('project_completed', 'project_milestone');
