/** The store's one error, and which S3 failures are worth retrying. */
import { EXIT, JarvisError } from "../errors.ts";
import { redactText } from "../log.ts";

/** HTTP statuses that mean "the object (or bucket) is not there". */
const NOT_FOUND_NAMES = ["NoSuchKey", "NotFound", "NoSuchBucket"];

export class StoreError extends JarvisError {
  /** The S3 answer's HTTP status, when there was an answer. */
  readonly status: number | undefined;
  /** True when the object (or the bucket) does not exist: callers test this, never the message. */
  readonly notFound: boolean;
  constructor(
    readonly operation: string,
    readonly key: string,
    readonly attempts: number,
    cause: unknown,
    retryable: boolean,
  ) {
    const c = cause as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = c?.$metadata?.httpStatusCode;
    super(
      "JARVIS_BACKUP_STORE_FAILED",
      `S3 ${operation} of ${key} failed after ${attempts} attempt${attempts === 1 ? "" : "s"}` +
        ` (${[status ? `HTTP ${status}` : "", c?.name ?? "", redactText(c?.message ?? String(cause))].filter(Boolean).join(" ")}); ` +
        (retryable
          ? "the store kept failing: check that the S3 endpoint is up and reachable (JARVIS_S3_ENDPOINT), then retry"
          : "check the bucket name (JARVIS_BACKUP_BUCKET), the credentials (AWS_*) and that the object exists"),
      status && status < 500 ? EXIT.failed : EXIT.unavailable,
    );
    this.status = status;
    this.notFound = status === 404 || NOT_FOUND_NAMES.includes(c?.name ?? "");
  }
}

export function isRetryable(e: unknown): boolean {
  const err = e as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  const status = err?.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429 || status === 408;
  if (err?.$retryable) return true;
  // No HTTP status: the request never got an answer (refused, reset, timeout, DNS).
  return !["NoSuchKey", "NotFound", "NoSuchBucket", "AccessDenied", "InvalidAccessKeyId"].includes(
    err?.name ?? "",
  );
}
