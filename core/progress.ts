/**
 * Progress of long work (backup, restore, verify, drill, adopt) for people at a terminal: one line
 * on stderr, rewritten in place, with what is done of the total, the rate and the time left.
 * Quiet when the stream is not a TTY (CI, pipes) and under --json, so machine output never
 * changes; pgBackRest and rsync behave the same way.
 */

export type ProgressUnit = "bytes" | "rows" | "objects";

export interface Progress {
  /** Sets what is done so far (absolute, not a delta); redraws at most every `intervalMs`. */
  update(done: number, total?: number): void;
  /** Draws the final figures and ends the line. */
  finish(): void;
}

export interface ProgressOptions {
  /** What is being done, first on the line: "backup postgres", "adopt messages". */
  label: string;
  /** The whole amount, when known; without it the line shows what is done and the rate. */
  total?: number;
  unit: ProgressUnit;
  /** Default process.stderr. */
  stream?: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): boolean };
  /** Forces the mode: true draws even off a TTY (tests), false never draws (--json). */
  enabled?: boolean;
  /** Minimum time between two redraws; default 200 ms. */
  intervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** 1536 → "1.5 KiB"; rows and objects as plain counts with thousands separators. */
export function formatAmount(n: number, unit: ProgressUnit): string {
  if (unit !== "bytes") return Math.round(n).toLocaleString("en-US");
  let i = 0;
  let v = n;
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${BYTE_UNITS[i]}`;
}

/** Seconds as "42s", "3m05s", "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** The line itself, a pure function of the figures. */
export function progressLine(p: {
  label: string;
  done: number;
  total?: number;
  unit: ProgressUnit;
  elapsedSeconds: number;
}): string {
  const rate = p.elapsedSeconds > 0 ? p.done / p.elapsedSeconds : 0;
  const rateText = `${formatAmount(rate, p.unit)}/s`;
  if (p.total === undefined || p.total <= 0) {
    return `${p.label}: ${formatAmount(p.done, p.unit)}, ${rateText}`;
  }
  const pct = Math.min(100, (100 * p.done) / p.total);
  const left = rate > 0 ? (p.total - p.done) / rate : Number.NaN;
  return (
    `${p.label}: ${formatAmount(p.done, p.unit)} of ${formatAmount(p.total, p.unit)} ` +
    `(${pct.toFixed(0)}%), ${rateText}, ${p.done >= p.total ? "done" : `${formatDuration(left)} left`}`
  );
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const enabled = opts.enabled ?? Boolean(stream.isTTY);
  const now = opts.now ?? Date.now;
  const interval = opts.intervalMs ?? 200;
  const start = now();
  let total = opts.total;
  let done = 0;
  let drawn = -Infinity;
  const draw = (end: boolean) => {
    const line = progressLine({
      label: opts.label,
      done,
      total,
      unit: opts.unit,
      elapsedSeconds: (now() - start) / 1000,
    });
    // \r back to the start of the line, \x1b[K clears what a longer previous line left.
    stream.write(`\r${line}\x1b[K${end ? "\n" : ""}`);
  };
  return {
    update(d, t) {
      done = d;
      if (t !== undefined) total = t;
      if (!enabled) return;
      const ts = now();
      if (ts - drawn < interval) return;
      drawn = ts;
      draw(false);
    },
    finish() {
      if (enabled) draw(true);
    },
  };
}

/** A progress that never draws: the default for library calls that were given none. */
export const noProgress: Progress = { update() {}, finish() {} };
