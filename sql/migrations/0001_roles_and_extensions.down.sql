-- Undoes 0001. The roles are cluster-wide and other databases may use them: they stay.
REVOKE EXECUTE ON ALL PROCEDURES IN SCHEMA partman FROM jarvis_owner;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA partman FROM jarvis_owner;
REVOKE SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA partman FROM jarvis_owner;
REVOKE USAGE, CREATE ON SCHEMA partman FROM jarvis_owner;
REVOKE CREATE ON SCHEMA public FROM jarvis_owner;
DROP EXTENSION IF EXISTS pg_partman;
DROP SCHEMA IF EXISTS partman;
DROP EXTENSION IF EXISTS vector;
