#!/bin/sh
# AgentGate's two database roles, created by the postgres image on the first start of an
# empty data volume (/docker-entrypoint-initdb.d). The owner holds the tables and runs
# migrations and rebuilds (MIGRATION_DATABASE_URL); the server and workers connect as the
# application role (DATABASE_URL), which may read and append, never rewrite the log.
# The same SQL for any other PostgreSQL is in docs/operations.md, "Database roles".
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_password="$(cat /run/secrets/owner_db_password)" \
  -v app_password="$(cat /run/secrets/app_db_password)" <<'SQL'
create role agentgate_owner login password :'owner_password';
create role agentgate_app login password :'app_password';
alter database agentgate owner to agentgate_owner;
revoke all on database agentgate from public;
grant connect on database agentgate to agentgate_app;
SQL
