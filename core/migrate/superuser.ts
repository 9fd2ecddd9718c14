/**
 * The migration files that run on the superuser connection; every other file runs on a
 * connection logged in as the owner role (issue 16, item 3: no superuser runs code that a
 * non-superuser can change). A file run by a superuser session that merely SET ROLE to the owner
 * would fire the owner's triggers, policies and functions in a session whose authenticated user
 * is the superuser: a planted body could RESET ROLE and ALTER ROLE jarvis_owner SUPERUSER.
 *
 * New files say so with a `-- jarvis:superuser` header (files.ts). The files below were applied
 * before that header existed: adding it would change their checksum, which `migrate apply`
 * refuses as drift. So they are listed here by name AND checksum: only that exact content is
 * trusted with the superuser, and an edited file falls back to the owner connection (and to drift).
 *
 * Found by applying every file as jarvis_owner and keeping the ones that failed for lack of a
 * superuser (docs/migrations.md). A superuser file must not write to, nor call, anything the owner
 * owns: that would reopen the door this list closes.
 */

export interface SuperuserFile {
  file: string;
  sha256: string;
  why: string;
}

export const SUPERUSER_FILES: readonly SuperuserFile[] = [
  {
    file: "0001_roles_and_extensions.sql",
    sha256: "292a3aba257a37652201111e85179a8517595b09e3a4946cb50cac7c851a6b32",
    why: "creates roles and the untrusted extensions vector and pg_partman, grants pg_monitor",
  },
  {
    file: "0001_roles_and_extensions.down.sql",
    sha256: "48910572905db68b466e8f7dd61de2fda1ff3d7ec7132a45c3773ffb7fa15e6d",
    why: "drops pg_partman and vector (only their owner, the superuser, may)",
  },
  {
    file: "0005_monitoring_access.sql",
    sha256: "90efe2f23b78e500daf2f8907b55573a1a15aa6a209e6a5512924578ccfedccc",
    why: "grants USAGE on pg_cron's schema, which the superuser owns (a no-op outside the cron database)",
  },
  {
    file: "0005_monitoring_access.down.sql",
    sha256: "8b69f1556ee54c49fa3daf93a9091d3fe2e760bef91dd9cc5bb1d0f6dff46175",
    why: "revokes that grant (the owner's REVOKE would only warn and leave it)",
  },
  {
    file: "0100_retention_functions.sql",
    sha256: "cda574dee00b17240b39c79417ebd4c7e5337e1810481ba981f2224d14b00793",
    why: "creates the jarvis schema (CREATE on the database) and updates pg_partman's part_config as the superuser; applied in the same run as 0002, before the owner could plant anything",
  },
  {
    file: "0107_jobs_run_as_owner.sql",
    sha256: "031da1e7af2e4691cb25e6008fa7e59dceef67ae3d37ba9035b22e37b1a0b631",
    why: "GRANT SET ON PARAMETER session_replication_role (superuser only); the rest is CREATE OR REPLACE FUNCTION, which runs no owner code",
  },
  {
    file: "0107_jobs_run_as_owner.down.sql",
    sha256: "9d04f33dcb463a4a4345e0cddc7c1bf4236f015332e2d80807a87f98a1bce8b7",
    why: "revokes that SET ON PARAMETER grant (the owner's REVOKE would only warn and leave it)",
  },
];

/** True when `file` with checksum `sha256` is one of the listed superuser files. */
export function listedSuperuser(file: string, sha256: string): boolean {
  return SUPERUSER_FILES.some((f) => f.file === file && f.sha256 === sha256);
}
