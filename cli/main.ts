/**
 * jarvis-data: the operators' CLI. `jarvis-data <command> [args] [--json]`; `--help` anywhere.
 * Exit status: 0 ok, 1 failed, 2 usage or config error, 3 a server unreachable, 4 refused for safety.
 */
import { parseArgs } from "node:util";
import { EXIT, JarvisError } from "../core/errors.ts";
import { createLogger, redactText } from "../core/log.ts";
import type { Command } from "./command.ts";
import { connectionsFromEnv } from "./env.ts";
import { configCheck } from "./commands/config.ts";
import { rolesApply } from "./commands/roles.ts";
import { chromaGateway } from "./commands/chroma-gateway.ts";
import { MIGRATE_COMMANDS } from "./commands/migrate.ts";
import { status } from "./commands/status.ts";
import { cronApply, cronPlan, cronStatusCommand } from "./commands/cron.ts";
import { retentionRun } from "./commands/retention.ts";
import { backup, backupsList } from "./commands/backup.ts";
import { restore } from "./commands/restore.ts";
import { verify } from "./commands/verify.ts";
import { drillCommand } from "./commands/drill.ts";
import { agent } from "./commands/agent.ts";
import { adopt } from "./commands/adopt.ts";

/** Every command, in help order. Later features register here. */
export const COMMANDS: Command[] = [
  configCheck,
  rolesApply,
  chromaGateway,
  ...MIGRATE_COMMANDS,
  status,
  cronPlan,
  cronApply,
  cronStatusCommand,
  retentionRun,
  backup,
  backupsList,
  restore,
  verify,
  drillCommand,
  agent,
  adopt,
];

const COMMON = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  quiet: { type: "boolean", short: "q" },
} as const;

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "jarvis-data: data management for the JARVIS assistant's memory (PostgreSQL, Redis, Chroma)",
    "",
    "usage: jarvis-data <command> [args] [--json] [--help]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "connections: DATABASE_URL or PG*, REDIS_URL, CHROMA_URL (+ CHROMA_TOKEN), JARVIS_S3_ENDPOINT,",
    "             JARVIS_BACKUP_BUCKET, AWS_* (region and credentials)",
    "exit status: 0 ok, 1 failed, 2 usage or config error, 3 unreachable, 4 refused for safety",
  ].join("\n");
}

function commandHelp(c: Command): string {
  const opts = Object.entries(c.options ?? {}).map(
    ([k, o]) => `  --${k}${o.type === "string" ? " VALUE" : ""}`,
  );
  return [
    `usage: ${c.usage}`,
    "",
    c.summary,
    ...(c.description ? ["", c.description] : []),
    "",
    "options:",
    ...opts,
    "  --json    machine-readable output",
    "  --help    this help",
  ].join("\n");
}

/** Finds the longest command name that prefixes argv ("migrate apply" before "migrate"). */
function resolveCommand(argv: string[]): { command?: Command; rest: string[] } {
  const words = argv.filter((a) => !a.startsWith("-"));
  for (let n = Math.min(3, words.length); n > 0; n--) {
    const name = words.slice(0, n).join(" ");
    const command = COMMANDS.find((c) => c.name === name);
    if (command) {
      const rest = [...argv];
      for (const w of words.slice(0, n)) rest.splice(rest.indexOf(w), 1);
      return { command, rest };
    }
  }
  return { rest: argv };
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const { command, rest } = resolveCommand(argv);
  if (!command) {
    if (argv.length === 0 || argv.includes("--help") || argv.includes("-h") || argv[0] === "help") {
      console.log(topHelp());
      return argv.length === 0 ? EXIT.usage : EXIT.ok;
    }
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
    console.error(
      group.length
        ? `jarvis-data ${argv[0]}: choose one of: ${group.map((c) => c.name).join(", ")}`
        : `jarvis-data: unknown command "${argv.join(" ")}"; see jarvis-data --help`,
    );
    return EXIT.usage;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: { ...COMMON, ...(command.options ?? {}) },
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n${commandHelp(command)}`);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    console.log(commandHelp(command));
    return EXIT.ok;
  }
  const log = createLogger({ json, quiet: Boolean(parsed.values.quiet) });
  try {
    return await command.run({
      args: parsed.positionals,
      options: parsed.values as Record<string, string | boolean | string[] | undefined>,
      json,
      env: connectionsFromEnv(),
      log,
      print(result, text) {
        process.stdout.write(
          json || text === undefined ? JSON.stringify(result, null, 2) + "\n" : text + "\n",
        );
      },
    });
  } catch (e) {
    const err = e as Error & { code?: string; exitCode?: number };
    const code = err instanceof JarvisError ? err.exitCode : EXIT.failed;
    if (json)
      process.stdout.write(
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

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("/cli/main.ts")) {
  process.exitCode = await main(process.argv.slice(2));
}
