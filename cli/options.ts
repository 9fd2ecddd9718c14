/**
 * Option parsing and validation, once for every command: an unknown option, a value of the wrong
 * type, a value outside the allowed ones or a missing required option is a UsageError (exit 2)
 * that names the option and what it accepts.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../core/errors.ts";
import type { OptionSpec, OptionSpecs } from "./command.ts";

export type OptionValue = string | boolean | number | (string | number)[] | undefined;

/** `--name VALUE` (with its choices) as help and errors show it. */
export function optionSyntax(name: string, spec: OptionSpec): string {
  if (spec.type === "boolean") return `--${name}`;
  if (spec.choices) return `--${name} ${spec.choices.join("|")}`;
  return `--${name} ${spec.type === "number" ? "N" : "VALUE"}`;
}

function allowedList(specs: OptionSpecs): string {
  return Object.entries(specs)
    .map(([n, s]) => optionSyntax(n, s))
    .join(", ");
}

function convert(name: string, spec: OptionSpec, raw: string): string | number {
  if (spec.type === "number") {
    const n = Number(raw);
    const whole = spec.integer ? "a whole number" : "a number";
    if (raw.trim() === "" || !Number.isFinite(n) || (spec.integer && !Number.isInteger(n)))
      throw new UsageError(`--${name} must be ${whole} (got "${raw}")`);
    if (spec.min !== undefined && n < spec.min)
      throw new UsageError(`--${name} must be ${whole} >= ${spec.min} (got ${raw})`);
    return n;
  }
  if (spec.choices && !spec.choices.includes(raw))
    throw new UsageError(`--${name} must be one of ${spec.choices.join(", ")} (got "${raw}")`);
  return raw;
}

/** Parses argv against the specs; returns the typed values and the positionals. */
export function parseOptions(
  specs: OptionSpecs,
  argv: string[],
): { values: Record<string, OptionValue>; positionals: string[] } {
  // node:util's parser only splits the words; the checks below are ours
  const config = Object.fromEntries(
    Object.entries(specs).map(([n, s]) => [
      n,
      {
        type: s.type === "boolean" ? ("boolean" as const) : ("string" as const),
        ...(s.multiple ? { multiple: true } : {}),
        ...(s.short ? { short: s.short } : {}),
      },
    ]),
  );
  const { tokens } = parseArgs({
    args: argv,
    options: config,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, OptionValue> = {};
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === "positional") positionals.push(t.value);
    if (t.kind !== "option") continue;
    const spec = specs[t.name];
    if (!spec) throw new UsageError(`unknown option ${t.rawName}; this command takes: ${allowedList(specs)}`);
    if (spec.type === "boolean") {
      if (t.value !== undefined) throw new UsageError(`--${t.name} takes no value (got "${t.value}")`);
      values[t.name] = true;
      continue;
    }
    if (t.value === undefined || t.value === "")
      throw new UsageError(`${optionSyntax(t.name, spec)}: a value is required`);
    const v = convert(t.name, spec, t.value);
    values[t.name] = spec.multiple ? [...((values[t.name] as (string | number)[]) ?? []), v] : v;
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (values[name] !== undefined) continue;
    if (spec.required) throw new UsageError(`${optionSyntax(name, spec)} is required`);
    if (spec.default !== undefined) values[name] = spec.default;
  }
  return { values, positionals };
}
