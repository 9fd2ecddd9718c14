/**
 * Runs one command: its --help, its options validated once against their specs (a usage error
 * exits 2 naming the option and what it accepts), then `run` with typed values; errors become
 * their exit status. What it prints is redacted like the logs (core/log.ts).
 */
import { EXIT, JarvisError } from "../core/errors.ts";
import { createLogger, redactFields, redactText } from "../core/log.ts";
import type { Command, OptionSpecs } from "./command.ts";
import { connectionsFromEnv } from "./env.ts";
import { optionSyntax, parseOptions } from "./options.ts";

/** Where output goes (tests capture it). */
export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const COMMON_OPTIONS: OptionSpecs = {
  json: { type: "boolean", description: "machine-readable output" },
  help: { type: "boolean", short: "h", description: "this help" },
  quiet: { type: "boolean", short: "q", description: "no progress or info lines" },
};

export function commandHelp(c: Command): string {
  const all = Object.entries({ ...(c.options ?? {}), ...COMMON_OPTIONS });
  const width = Math.max(...all.map(([k, o]) => optionSyntax(k, o).length));
  const opts = all.map(([k, o]) => {
    const notes = [
      o.required ? "required" : "",
      o.default !== undefined ? `default ${String(o.default)}` : "",
    ];
    const extra = notes.filter(Boolean).join(", ");
    return `  ${optionSyntax(k, o).padEnd(width)}  ${o.description ?? ""}${extra ? ` (${extra})` : ""}`.trimEnd();
  });
  return [
    `usage: ${c.usage}`,
    "",
    c.summary,
    ...(c.description ? ["", c.description] : []),
    "",
    "options:",
    ...opts,
  ].join("\n");
}

/** stdout for results: JSON with --json (or without text), else the text; redacted like the logs. */
function printer(json: boolean, out: NodeJS.WritableStream) {
  return (result: unknown, text?: string) => {
    out.write(
      json || text === undefined
        ? JSON.stringify(redactFields(result), null, 2) + "\n"
        : redactText(text) + "\n",
    );
  };
}

/** Runs `command` with the words after its name; returns the exit status. */
export async function runCommand(
  command: Command,
  rest: string[],
  io: CommandIO = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const json = rest.includes("--json");
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(commandHelp(command) + "\n");
    return EXIT.ok;
  }
  let parsed;
  try {
    parsed = parseOptions({ ...(command.options ?? {}), ...COMMON_OPTIONS }, rest);
  } catch (e) {
    io.stderr.write(
      `jarvis-data ${command.name}: ${(e as Error).message}\nsee: jarvis-data ${command.name} --help\n`,
    );
    return EXIT.usage;
  }
  const log = createLogger({ json, quiet: Boolean(parsed.values.quiet), stream: io.stderr });
  try {
    return await command.run({
      args: parsed.positionals,
      options: parsed.values,
      json,
      env: connectionsFromEnv(),
      log,
      print: printer(json, io.stdout),
    });
  } catch (e) {
    const err = e as Error & { code?: string; exitCode?: number };
    const code = err instanceof JarvisError ? err.exitCode : EXIT.failed;
    if (json)
      io.stdout.write(
        JSON.stringify({ error: { code: err.code ?? "JARVIS_INTERNAL", message: redactText(err.message) } }) +
          "\n",
      );
    log.error(
      err instanceof JarvisError
        ? err.message
        : `${err.message} (unexpected: please report with --json output)`,
      err instanceof JarvisError ? {} : { code: err.code },
    );
    return code;
  }
}
