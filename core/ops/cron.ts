/**
 * A five-field cron matcher for the ops agent's schedules (UTC), accepting exactly the syntax
 * config/cron.ts validates: *, N, N-M, lists and steps. Like cron, when both day-of-month and
 * day-of-week are restricted, a day matching either one runs the job.
 */
import { cronProblem } from "../../config/cron.ts";
import { UsageError } from "../errors.ts";

const RANGES: ReadonlyArray<[number, number]> = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

export interface CronSpec {
  expr: string;
  sets: Set<number>[];
  domRestricted: boolean;
  dowRestricted: boolean;
}

export function parseCron(expr: string): CronSpec {
  const problem = cronProblem(expr);
  if (problem) throw new UsageError(`invalid schedule: ${problem}`);
  const parts = expr.trim().split(/\s+/);
  const sets = parts.map((part, i) => {
    const [min, max] = RANGES[i]!;
    const set = new Set<number>();
    for (const item of part.split(",")) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item)!;
      const step = m[4] ? Number(m[4]) : 1;
      const lo = m[1] === "*" ? min : Number(m[2]);
      const hi = m[1] === "*" ? max : m[3] !== undefined ? Number(m[3]) : m[4] ? max : lo;
      for (let v = lo; v <= hi; v += step) set.add(i === 4 && v === 7 ? 0 : v);
    }
    return set;
  });
  return { expr, sets, domRestricted: parts[2] !== "*", dowRestricted: parts[4] !== "*" };
}

/** Does the schedule fire in the minute of `at` (UTC)? */
export function cronMatches(spec: CronSpec | string, at: Date): boolean {
  const s = typeof spec === "string" ? parseCron(spec) : spec;
  const [mi, h, dom, mon, dow] = s.sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (!mi.has(at.getUTCMinutes()) || !h.has(at.getUTCHours()) || !mon.has(at.getUTCMonth() + 1)) return false;
  const domOk = dom.has(at.getUTCDate());
  const dowOk = dow.has(at.getUTCDay());
  if (s.domRestricted && s.dowRestricted) return domOk || dowOk;
  return domOk && dowOk;
}

/** The next minute at or after `from` when the schedule fires (searches a little over a year). */
export function nextRun(spec: CronSpec | string, from: Date): Date | null {
  const s = typeof spec === "string" ? parseCron(spec) : spec;
  const t = new Date(Math.ceil(from.getTime() / 60_000) * 60_000);
  for (let i = 0; i < 60 * 24 * 400; i++) {
    if (cronMatches(s, t)) return t;
    t.setTime(t.getTime() + 60_000);
  }
  return null;
}
