#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh (docs/deployment.md, "Backups").
#
#   scripts/restore.sh BACKUP_DIR
#
# Stop the server first: restore refuses (exit 75) while it runs. The current
# database is kept as synth.db.pre-restore-<stamp>; the next start applies
# any newer migrations. Runs SYNTH_BIN when set, else `deno task restore`.
set -euo pipefail
if [ "$#" -ne 1 ]; then
  echo "usage: scripts/restore.sh BACKUP_DIR" >&2
  exit 64
fi
backup=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
if [ -n "${SYNTH_BIN:-}" ]; then
  exec "$SYNTH_BIN" restore "$backup"
fi
exec "${DENO:-deno}" task restore "$backup"
