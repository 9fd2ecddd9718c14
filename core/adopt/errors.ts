/** adopt's errors, each with a stable code (JARVIS_ADOPT_*), the cause and the fix. */
import { EXIT, JarvisError } from "../errors.ts";

export class AdoptError extends JarvisError {
  constructor(code: `JARVIS_ADOPT_${string}`, message: string, exitCode: number = EXIT.failed) {
    super(code, message, exitCode);
    this.name = "AdoptError";
  }
}

/** The source lacks a table or a column adopt cannot do without. */
export function shapeError(problems: string[]): AdoptError {
  return new AdoptError(
    "JARVIS_ADOPT_SOURCE_SHAPE",
    `the source database is not in the legacy JARVIS shape (${problems.join("; ")}); point --from at the application's database (the one Alembic 001 created), or add the missing columns there`,
    EXIT.usage,
  );
}

/** The target is not migrated, or holds rows that did not come from this source. */
export function targetRefused(tables: { table: string; rows: number }[]): AdoptError {
  const list = tables.map((t) => `${t.table} (${t.rows} rows)`).join(", ");
  return new AdoptError(
    "JARVIS_ADOPT_TARGET_NOT_EMPTY",
    `the target already holds rows that did not come from this source: ${list}; adopt into a fresh stack database, or pass --force to add to them (the verification then counts only the rows adopt brings)`,
    EXIT.refused,
  );
}

export function targetShapeError(missing: string[]): AdoptError {
  return new AdoptError(
    "JARVIS_ADOPT_TARGET_SHAPE",
    `the target database is not migrated (missing: ${missing.join(", ")}); run \`jarvis-data migrate apply\` against DATABASE_URL first (pulumi up does it)`,
    EXIT.usage,
  );
}

export class VerificationError extends AdoptError {
  constructor(readonly mismatches: string[]) {
    super(
      "JARVIS_ADOPT_VERIFY_MISMATCH",
      `verification failed: ${mismatches.join("; ")}; the source changed since the copy or a row was altered on the way. Stop the application's writes to the source and run adopt again (it resumes)`,
    );
  }
}

/** The source could not produce a batch: a value its conversion cannot take, or a lost connection. */
export function sourceReadError(
  table: string,
  after: string | null,
  last: string,
  reason: Error,
): AdoptError {
  return new AdoptError(
    "JARVIS_ADOPT_SOURCE_READ",
    `reading ${table} from the source failed in the batch of keys ${after === null ? "from the first" : `after ${after}`} up to ${last}: ${reason.message}; a value there that the conversion cannot take (an embedding beyond the range of real, metadata text that is not JSON) stops adopt before it writes anything of that batch: correct the row in the legacy database, then run adopt again (it resumes at this batch)`,
  );
}
