/**
 * Structured logging. Secrets are redacted here, once, not at each call site: any field whose
 * name looks like a credential, and any user:password@ inside a URL.
 */
const SECRET_KEY = /pass(word)?|secret|token|credential|cipher|api[-_]?key|private/i;
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)([^:@/\s]+):([^@/\s]+)@/gi;

export function redactText(s: string): string {
  return s.replace(URL_CREDENTIALS, "$1$2:[secret]@");
}

export function redactFields(value: unknown, key = ""): unknown {
  if (key && SECRET_KEY.test(key) && value !== undefined && value !== null && typeof value !== "object")
    return "[secret]";
  if (typeof value === "string") return redactText(value);
  if (Array.isArray(value)) return value.map((v) => redactFields(v));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactFields(v, k)]));
  }
  return value;
}

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** JSON lines (for agents and CI) or short text lines (for people), on stderr. */
export function createLogger(
  opts: { json?: boolean; quiet?: boolean; stream?: NodeJS.WritableStream } = {},
): Logger {
  const out = opts.stream ?? process.stderr;
  const write = (level: string, msg: string, fields: Record<string, unknown> = {}) => {
    if (opts.quiet && level === "info") return;
    const safe = redactFields(fields) as Record<string, unknown>;
    if (opts.json) {
      out.write(
        JSON.stringify({ time: new Date().toISOString(), level, msg: redactText(msg), ...safe }) + "\n",
      );
    } else {
      const extra = Object.entries(safe).map(
        ([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`,
      );
      out.write(
        `${level === "info" ? "" : `${level}: `}${redactText(msg)}${extra.length ? ` (${extra.join(" ")})` : ""}\n`,
      );
    }
  };
  return {
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}

/** A logger that drops everything (library default). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
