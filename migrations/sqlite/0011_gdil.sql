-- Projects (spec/projects.md §2): projects with their tasks in roadmap
-- order, each iteration, a gap-free event log per project, and the focused
-- project per (user, thread). Times are epoch ms.

CREATE TABLE gdil_projects (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  thread_id TEXT NOT NULL,
  name TEXT NOT NULL,
  request TEXT NOT NULL,
  template_id TEXT,
  customization TEXT,
  phase TEXT NOT NULL CHECK (phase IN ('initialization', 'planning', 'iteration', 'exit',
    'paused', 'archived')),
  paused_from TEXT CHECK (paused_from IN ('initialization', 'planning', 'iteration')),
  archived_from TEXT,
  brief TEXT,
  end_transformation TEXT,
  questions TEXT NOT NULL DEFAULT '[]',
  uncertainties TEXT NOT NULL DEFAULT '[]',
  plan_version INTEGER NOT NULL DEFAULT 0,
  plan_accepted_at INTEGER,
  iteration_count INTEGER NOT NULL DEFAULT 0,
  max_iterations INTEGER,
  exit_reason TEXT,
  exit_at INTEGER,
  exit_summary TEXT,
  blockers TEXT NOT NULL DEFAULT '[]',
  vcs INTEGER NOT NULL DEFAULT 0,
  busy_since INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX gdil_projects_by_owner ON gdil_projects (owner_id, created_at);

CREATE TABLE gdil_tasks (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES gdil_projects (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  key TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  priority INTEGER NOT NULL,
  depends_on TEXT NOT NULL DEFAULT '[]',
  estimate_iterations INTEGER NOT NULL,
  estimate_hours REAL NOT NULL,
  milestone INTEGER NOT NULL DEFAULT 0,
  done INTEGER NOT NULL DEFAULT 0,
  blocked INTEGER NOT NULL DEFAULT 0,
  progress REAL NOT NULL DEFAULT 0,
  iterations INTEGER NOT NULL DEFAULT 0,
  low_streak INTEGER NOT NULL DEFAULT 0,
  planned_start INTEGER,
  planned_end INTEGER,
  started_at INTEGER,
  finished_at INTEGER
);
CREATE INDEX gdil_tasks_by_project ON gdil_tasks (project_id, idx);

CREATE TABLE gdil_iterations (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES gdil_projects (id) ON DELETE CASCADE,
  task_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  turn_id TEXT,
  user_message TEXT,
  output TEXT NOT NULL,
  explanation TEXT NOT NULL DEFAULT '',
  questions TEXT NOT NULL DEFAULT '[]',
  raw_progress TEXT,
  progress REAL NOT NULL,
  artifacts TEXT NOT NULL DEFAULT '[]',
  usage TEXT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL
);
CREATE INDEX gdil_iterations_by_task ON gdil_iterations (project_id, task_id, n);

CREATE TABLE gdil_events (
  project_id TEXT NOT NULL REFERENCES gdil_projects (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  task_id TEXT,
  type TEXT NOT NULL,
  data TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (project_id, seq)
);

CREATE TABLE gdil_focus (
  owner_id TEXT NOT NULL,
  thread_id TEXT NOT NULL,
  project_id TEXT NOT NULL REFERENCES gdil_projects (id) ON DELETE CASCADE,
  PRIMARY KEY (owner_id, thread_id)
);
