/**
 * Errors a user can cause or meet. Each has a stable `code`, a message naming the cause and the
 * fix, and the CLI exit status it maps to.
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

export class JarvisError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = "JarvisError";
  }
}

export class UsageError extends JarvisError {
  constructor(message: string) {
    super("JARVIS_USAGE", message, EXIT.usage);
  }
}

export class UnavailableError extends JarvisError {
  constructor(what: string, cause: unknown, fix: string) {
    super(
      "JARVIS_UNAVAILABLE",
      `${what} is unreachable (${(cause as Error)?.message ?? String(cause)}); ${fix}`,
      EXIT.unavailable,
    );
  }
}

export class RefusedError extends JarvisError {
  constructor(message: string) {
    super("JARVIS_REFUSED", message, EXIT.refused);
  }
}
