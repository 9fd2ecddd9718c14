/**
 * The shape of a CLI command; cli/main.ts holds the registry and validates options once
 * (cli/options.ts), so a command reads typed values and never casts.
 */
import type { Logger } from "../core/log.ts";
import type { Connections } from "./env.ts";

export type OptionType = "string" | "boolean" | "number";

/** One option: its type and what it accepts. main.ts refuses anything else with exit status 2. */
export interface OptionSpec {
  type: OptionType;
  /** The values a string option accepts; help lists them. */
  choices?: readonly string[];
  /** Missing → a usage error naming the option. */
  required?: boolean;
  /** Repeatable: the values arrive as an array. */
  multiple?: boolean;
  /** A number option: whole numbers only, and the smallest allowed. */
  integer?: boolean;
  min?: number;
  short?: string;
  default?: string | boolean | number;
  /** One line for --help. */
  description?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

/** Distributes over a union of types, so the untyped `OptionSpec` gives every possible value. */
type ByType<T, C> = T extends "boolean"
  ? boolean
  : T extends "number"
    ? number
    : C extends readonly (infer X extends string)[]
      ? X
      : string;

type Present<S extends OptionSpec> = S["required"] extends true
  ? true
  : S extends { default: unknown }
    ? true
    : false;

type Value<M, V, P> = M extends true ? V[] | undefined : P extends true ? V : V | undefined;

/** The validated values of a command's options, typed from its specs. */
export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]: Value<O[K]["multiple"], ByType<O[K]["type"], O[K]["choices"]>, Present<O[K]>>;
};

export interface CommandContext<O extends OptionSpecs = OptionSpecs> {
  args: string[];
  options: OptionValues<O>;
  json: boolean;
  env: Connections;
  log: Logger;
  /** Machine output (stdout): JSON with --json, else the text. Redacted like the logs. */
  print(result: unknown, text?: string): void;
}

export interface Command<O extends OptionSpecs = OptionSpecs> {
  /** e.g. "migrate apply" */
  name: string;
  summary: string;
  usage: string;
  /** Longer help, shown by --help. */
  description?: string;
  options?: O;
  /** Returns the exit status. */
  run(ctx: CommandContext<O>): Promise<number>;
}

/** Declares a command so its `run` sees typed option values (`ctx.options.kind`: "logical" | ...). */
export function defineCommand<const O extends OptionSpecs>(c: Command<O>): Command<O> {
  return c;
}
