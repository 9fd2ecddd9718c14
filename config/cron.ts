/**
 * Cron expressions that every pg_cron we ship accepts: bookworm's 1.4 (tests) and the image's 1.6.
 * pg_cron 1.4 has no seconds field ("30 seconds", added in 1.5), and neither accepts month or day
 * names in every position, so we allow exactly five numeric fields made of *, N, N-M, lists and
 * steps, plus pg_cron's own "$" (last day of month) which both accept in day-of-month.
 */
const FIELDS: ReadonlyArray<{ name: string; min: number; max: number }> = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day-of-week", min: 0, max: 7 },
];

/** Returns null when `expr` is portable, else a sentence saying what is wrong. */
export function cronProblem(expr: string): string | null {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) {
    return `"${expr}" has ${parts.length} fields; use 5 (minute hour day-of-month month day-of-week), no seconds`;
  }
  for (const [i, part] of parts.entries()) {
    const field = FIELDS[i]!;
    for (const item of part.split(",")) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
      if (!m) return `"${expr}": ${field.name} "${item}" is not *, N, N-M, a list or */N`;
      const nums = [m[2], m[3]].filter((x): x is string => x !== undefined).map(Number);
      for (const n of nums) {
        if (n < field.min || n > field.max) {
          return `"${expr}": ${field.name} ${n} is outside ${field.min}..${field.max}`;
        }
      }
      if (m[4] !== undefined && Number(m[4]) === 0) return `"${expr}": a step of 0 in ${field.name}`;
    }
  }
  return null;
}
