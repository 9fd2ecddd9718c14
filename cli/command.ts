/** The shape of a CLI command; cli/main.ts holds the registry. */
import type { ParseArgsConfig } from "node:util";
import type { Logger } from "../core/log.ts";
import type { Connections } from "./env.ts";

export interface CommandContext {
  args: string[];
  options: Record<string, string | boolean | string[] | undefined>;
  json: boolean;
  env: Connections;
  log: Logger;
  /** Machine output (stdout): JSON with --json, else the text. */
  print(result: unknown, text?: string): void;
}

export interface Command {
  /** e.g. "migrate apply" */
  name: string;
  summary: string;
  usage: string;
  /** Longer help, shown by --help. */
  description?: string;
  options?: ParseArgsConfig["options"];
  /** Returns the exit status. */
  run(ctx: CommandContext): Promise<number>;
}
