/**
 * Structured logging. Secrets are redacted here, once, not at each call site: any field whose
 * name looks like a credential (with everything under it), the password of any URL (parsed with
 * `new URL()`, also when the password holds an unencoded `/` or `@`), secret query parameters,
 * libpq `keyword=value` passwords and Authorization headers inside text. The CLI sends what it
 * prints through the same functions.
 */
const SECRET_WORD =
  /pass(word|wd|phrase)?|pwd|secret|token|credential|cipher|api[-_]?key|private|authorization|cookie|signature/i;
/** Names that hold a reference to a secret, not the secret: a file, a hash, a list of names. */
const REFERENCE_SUFFIX =
  /(provided|keys|names?|files?|dirs?|path|hash|sha256|count|length|ref|id|url_file)$/i;
/** Query parameters that carry a credential (S3 presigned URLs, redis ?password=, tokens). */
const SECRET_PARAM =
  /^(pass(word)?|pwd|secret|token|access_token|api[-_]?key|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|auth)$/i;
const REDACTED = "[secret]";

/** True when a field or parameter of this name holds a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_WORD.test(key) && !REFERENCE_SUFFIX.test(key);
}

const URL_TOKEN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/**
 * userinfo ends at the last "@" before the query: a password may hold "/" or "@" unencoded, and
 * an "@" in the query (an e-mail address) is not userinfo.
 */
function splitUserinfo(rest: string): { userinfo?: string; host: string } {
  for (let at = rest.lastIndexOf("@"); at > 0; at = rest.lastIndexOf("@", at - 1)) {
    const before = rest.slice(0, at);
    if (!/[?#]/.test(before))
      return before.includes(":") ? { userinfo: before, host: rest.slice(at + 1) } : { host: rest };
  }
  return { host: rest };
}

function redactUrl(token: string): string {
  const cut = token.indexOf("://") + 3;
  const scheme = token.slice(0, cut);
  const { userinfo, host } = splitUserinfo(token.slice(cut));
  const auth = userinfo === undefined ? "" : `${userinfo.slice(0, userinfo.indexOf(":"))}:${REDACTED}@`;
  let tail = host;
  let parsed: URL | undefined;
  try {
    parsed = new URL(scheme + host);
  } catch {
    // not a URL after all: only the generic keyword=value rule below applies
  }
  const names = parsed
    ? [...new Set(parsed.searchParams.keys())].filter((k) => SECRET_PARAM.test(k) || isSecretKey(k))
    : [];
  for (const name of names) {
    const esc = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    tail = tail.replace(new RegExp(`([?&;]${esc}=)[^&#;]*`, "gi"), `$1${REDACTED}`);
  }
  return scheme + auth + tail;
}

/** keyword=value (libpq, env), with single- or double-quoted values. */
const KEYWORD_VALUE = /(?<![\w.])([A-Za-z_][\w.-]*)=('(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|[^\s&;,]+)/g;
/** "key": "value" inside JSON text. */
const JSON_PAIR = /("([^"]+)"\s*:\s*)"(?:\\.|[^"\\])*"/g;
/** An Authorization header written as text. */
const AUTH_HEADER = /\b(authorization\s*:\s*)(?:(bearer|basic|token|digest)\s+)?[^\s,;"']+/gi;

export function redactText(s: string): string {
  return s
    .replace(URL_TOKEN, redactUrl)
    .replace(KEYWORD_VALUE, (m, key: string) => (isSecretKey(key) ? `${key}=${REDACTED}` : m))
    .replace(JSON_PAIR, (m, head: string, key: string) => (isSecretKey(key) ? `${head}"${REDACTED}"` : m))
    .replace(
      AUTH_HEADER,
      (_m, head: string, scheme?: string) => `${head}${scheme ? `${scheme} ` : ""}${REDACTED}`,
    );
}

/** Every leaf of a value under a secret key becomes "[secret]"; the shape stays. */
function redactAll(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactAll);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactAll(v)]));
  return value === undefined || value === null ? value : REDACTED;
}

export function redactFields(value: unknown, key = ""): unknown {
  if (key && isSecretKey(key)) return redactAll(value);
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
