/**
 * jarvis-data: the operators' CLI. `jarvis-data <command> [args] [--json]`; `--help` anywhere.
 * Exit status: 0 ok, 1 failed, 2 usage or config error, 3 a server unreachable, 4 refused for safety.
 */
import { EXIT } from "../core/errors.ts";
import type { Command } from "./command.ts";
import { runCommand } from "./run.ts";
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
import { STORAGE_COMMANDS } from "./commands/storage.ts";
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
  ...STORAGE_COMMANDS,
  adopt,
];

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
  return runCommand(command, rest);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("/cli/main.ts")) {
  process.exitCode = await main(process.argv.slice(2));
}
