/** The migration engine's errors: a stable code each, and a message naming the cause and the fix. */
import type { CatalogDifference } from "./catalog.ts";
import { EXIT, JarvisError } from "../errors.ts";

/** A file that cannot be a migration (name, headers, no-transaction with several statements). */
export class MigrationFileError extends JarvisError {
  constructor(message: string) {
    super("JARVIS_MIGRATION_FILE", message, EXIT.usage);
  }
}

export type DriftKind = "checksum" | "missing" | "out-of-order";

export interface DriftProblem {
  kind: DriftKind;
  version: number;
  file: string;
  /** checksum: the sha256 recorded when it was applied, and the file's current one. */
  appliedSha256?: string;
  fileSha256?: string;
  message: string;
}

/** The files and the database's history disagree: nothing is run until a person decides. */
export class MigrationDriftError extends JarvisError {
  constructor(readonly problems: DriftProblem[]) {
    super(
      "JARVIS_MIGRATION_DRIFT",
      `migration drift, nothing was applied:\n  ${problems.map((p) => p.message).join("\n  ")}`,
    );
  }
}

/** A migration failed; its transaction was rolled back (or, without one, see the message). */
export class MigrationFailedError extends JarvisError {
  constructor(
    readonly file: string,
    message: string,
    readonly sqlState?: string,
    readonly constraint?: string,
  ) {
    super("JARVIS_MIGRATION_FAILED", message);
  }
}

/** Another runner holds the migration lock longer than we agreed to wait. */
export class MigrationLockTimeoutError extends JarvisError {
  constructor(message: string) {
    super("JARVIS_MIGRATION_LOCKED", message);
  }
}

/** A request the engine refuses as given (down without down files, baseline over history...). */
export class MigrationRequestError extends JarvisError {
  constructor(message: string) {
    super("JARVIS_MIGRATION_REQUEST", message, EXIT.usage);
  }
}

/** `migrate baseline` on a database whose schema is not what migrations 1..N make. */
export class BaselineMismatchError extends JarvisError {
  constructor(
    message: string,
    readonly differences: CatalogDifference[],
  ) {
    super("JARVIS_BASELINE_MISMATCH", message, EXIT.refused);
  }
}
