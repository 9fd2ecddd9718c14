/**
 * Errors a user can cause or meet. Each has a stable `code`, a message naming the cause and the
 * fix, and the CLI exit status it maps to. Every code is listed once in `ERROR_CODES`, with its
 * exit status and what it means, as pgBackRest lists its errors in build/error.yaml; callers test
 * a code or a field, never a message's text. test/unit/errors.test.ts fails when a `JARVIS_*`
 * code is used in core/, cli/ or config/ without being listed here.
 */
export const EXIT = {
  ok: 0,
  /** The operation ran and failed (a backup, a check, a drill). */
  failed: 1,
  /** Bad usage or bad config: nothing was attempted. */
  usage: 2,
  /** A server could not be reached or a tool is missing. */
  unavailable: 3,
  /** Refused for safety: needs --confirm / --force. */
  refused: 4,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

interface CodeEntry {
  exit: ExitStatus;
  meaning: string;
}

/** The catalogue: every error code, its exit status and what it means. */
export const ERROR_CODES = {
  JARVIS_USAGE: { exit: EXIT.usage, meaning: "bad arguments or environment; nothing was attempted" },
  JARVIS_UNAVAILABLE: { exit: EXIT.unavailable, meaning: "a server is unreachable" },
  JARVIS_REFUSED: {
    exit: EXIT.refused,
    meaning: "refused for safety: needs --confirm (and --force in prod)",
  },
  JARVIS_INTERNAL: { exit: EXIT.failed, meaning: "an unexpected error: please report it" },
  JARVIS_CONFIG_INVALID: { exit: EXIT.usage, meaning: "the stack's config does not validate" },
  // Backups and restores (core/backup).
  JARVIS_BACKUP_STORE_FAILED: {
    exit: EXIT.failed,
    meaning: "an S3 call failed (exit 3 when the store is down)",
  },
  JARVIS_BACKUP_NOT_FOUND: { exit: EXIT.failed, meaning: "no complete backup with that id (or none yet)" },
  JARVIS_BACKUP_ID_INVALID: { exit: EXIT.usage, meaning: "not a backup id" },
  JARVIS_BACKUP_FILE: { exit: EXIT.failed, meaning: "a local file changed while it was uploaded" },
  JARVIS_BACKUP_CORRUPT: { exit: EXIT.failed, meaning: "a stored object does not match its manifest entry" },
  JARVIS_MANIFEST_INVALID: { exit: EXIT.failed, meaning: "a manifest is malformed, unsafe or incomplete" },
  JARVIS_MANIFEST_SIGNATURE: { exit: EXIT.failed, meaning: "a manifest is unsigned or badly signed" },
  JARVIS_RESTORE_MISMATCH: { exit: EXIT.failed, meaning: "what was restored differs from the manifest" },
  JARVIS_VERIFY_FAILED: { exit: EXIT.failed, meaning: "a backup's objects fail their checksums" },
  JARVIS_DRILL_CONFIG: { exit: EXIT.usage, meaning: "a drill lacks a server to restore into" },
  JARVIS_TOOL_FAILED: { exit: EXIT.failed, meaning: "an external tool (pg_dump, pgbackrest...) failed" },
  JARVIS_TOOL_MISSING: { exit: EXIT.unavailable, meaning: "an external tool is not installed" },
  JARVIS_PGBACKREST: { exit: EXIT.failed, meaning: "pgBackRest answered something unexpected" },
  JARVIS_REDIS_AUTH: { exit: EXIT.unavailable, meaning: "Redis refused the backup user's credentials" },
  JARVIS_REDIS_SYNC: { exit: EXIT.failed, meaning: "Redis refused or garbled the snapshot transfer" },
  JARVIS_REDIS_RESTORE: { exit: EXIT.failed, meaning: "the Redis target did not finish syncing" },
  JARVIS_CHROMA_API: { exit: EXIT.failed, meaning: "Chroma answered an error (exit 3 on 5xx)" },
  JARVIS_CHROMA_CHANGED: { exit: EXIT.failed, meaning: "a collection changed during its export" },
  JARVIS_LOGS_EMPTY: { exit: EXIT.failed, meaning: "no log files to back up in the window" },
  // Other areas.
  JARVIS_CHROMA_GATEWAY_CONFIG: { exit: EXIT.usage, meaning: "the Chroma gateway's settings are invalid" },
  JARVIS_CRON_SPEC: { exit: EXIT.usage, meaning: "a cron job's spec is invalid" },
  JARVIS_CRON_UNAVAILABLE: { exit: EXIT.unavailable, meaning: "pg_cron is not usable on the server" },
  JARVIS_MIGRATION_FILE: { exit: EXIT.usage, meaning: "a migration file is malformed" },
  JARVIS_MIGRATION_REQUEST: { exit: EXIT.usage, meaning: "a migration request cannot be carried out" },
  JARVIS_MIGRATION_DRIFT: { exit: EXIT.failed, meaning: "an applied migration was edited" },
  JARVIS_BASELINE_MISMATCH: {
    exit: EXIT.refused,
    meaning: "migrate baseline: the database differs from migrations 1..N; nothing recorded (see adopt)",
  },
  JARVIS_LIFECYCLE_MISMATCH: {
    exit: EXIT.failed,
    meaning: "an S3-compatible store kept other lifecycle rules than the ones it was sent",
  },
  JARVIS_CONFIG_YAML: { exit: EXIT.usage, meaning: "a stack file is not valid YAML" },
  JARVIS_ADOPT_BAD_URL: { exit: EXIT.usage, meaning: "adopt: --from or the target is not a usable URL" },
  JARVIS_ADOPT_BAD_SOURCE: {
    exit: EXIT.usage,
    meaning: "adopt: the --from path is not a Redis dump or a Chroma directory",
  },
  JARVIS_ADOPT_SOURCE_SHAPE: {
    exit: EXIT.usage,
    meaning: "adopt: the source is not in the legacy JARVIS shape",
  },
  JARVIS_ADOPT_TARGET_SHAPE: {
    exit: EXIT.usage,
    meaning: "adopt: the target is not migrated as `pulumi up` leaves it",
  },
  JARVIS_ADOPT_SOURCE_READ: {
    exit: EXIT.failed,
    meaning: "adopt: the source could not produce a batch (a value its conversion cannot take)",
  },
  JARVIS_ADOPT_TIMEZONE: { exit: EXIT.usage, meaning: "adopt: --source-timezone is not a known zone" },
  JARVIS_ADOPT_SOURCE_UNREACHABLE: { exit: EXIT.unavailable, meaning: "adopt: the source is unreachable" },
  JARVIS_ADOPT_TARGET_UNREACHABLE: { exit: EXIT.unavailable, meaning: "adopt: the target is unreachable" },
  JARVIS_ADOPT_TARGET_NOT_EMPTY: {
    exit: EXIT.refused,
    meaning: "adopt: the target holds rows that did not come from this source (needs --force)",
  },
  JARVIS_ADOPT_PARTITIONS: {
    exit: EXIT.failed,
    meaning: "adopt: the monthly partitions for the source's history could not be made",
  },
  JARVIS_ADOPT_VERIFY_MISMATCH: {
    exit: EXIT.failed,
    meaning: "adopt: counts or checksums of the target differ from the source",
  },
  JARVIS_MIGRATION_FAILED: { exit: EXIT.failed, meaning: "a migration failed and was rolled back" },
  JARVIS_MIGRATION_LOCKED: { exit: EXIT.failed, meaning: "another migration run holds the lock" },
  JARVIS_MIGRATION_MANIFEST: { exit: EXIT.usage, meaning: "the migration manifest is invalid" },
  JARVIS_ROLES: { exit: EXIT.failed, meaning: "a role could not be reconciled" },
  JARVIS_RETENTION_INPUT: { exit: EXIT.usage, meaning: "retention was given invalid inputs" },
  JARVIS_RETENTION_FAILED: { exit: EXIT.failed, meaning: "a retention run failed" },
} as const satisfies Record<string, CodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The exit status of a code; codes outside the catalogue are plain failures. */
export function exitFor(code: string): ExitStatus {
  return (ERROR_CODES as Record<string, CodeEntry>)[code]?.exit ?? EXIT.failed;
}

export class JarvisError extends Error {
  readonly exitCode: number;
  /** `exitCode` overrides the catalogue's status (a 5xx turns a failure into "unavailable"). */
  constructor(
    readonly code: ErrorCode | (string & {}),
    message: string,
    exitCode?: number,
  ) {
    super(message);
    this.name = "JarvisError";
    this.exitCode = exitCode ?? exitFor(code);
  }
}

export class UsageError extends JarvisError {
  constructor(message: string) {
    super("JARVIS_USAGE", message);
  }
}

export class UnavailableError extends JarvisError {
  constructor(what: string, cause: unknown, fix: string) {
    super(
      "JARVIS_UNAVAILABLE",
      `${what} is unreachable (${(cause as Error)?.message ?? String(cause)}); ${fix}`,
    );
  }
}

export class RefusedError extends JarvisError {
  constructor(message: string) {
    super("JARVIS_REFUSED", message);
  }
}
