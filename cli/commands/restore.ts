/**
 * `jarvis-data restore <store> --backup ID --target URL [--time T | --name N] [--confirm NAME]`.
 * A target that is not empty is refused unless --confirm names it; what would be overwritten is
 * printed first, in every case.
 */
import { restoreChroma } from "../../core/backup/chroma.ts";
import { restoreLogs } from "../../core/backup/logs.ts";
import { restorePhysical } from "../../core/backup/pgbackrest.ts";
import { restorePostgresLogical } from "../../core/backup/postgres-logical.ts";
import { restoreRedis } from "../../core/backup/redis.ts";
import { EXIT, UsageError } from "../../core/errors.ts";
import { defineCommand } from "../command.ts";
import { opsFromEnv } from "../env.ts";
import { parseSource } from "./backup.ts";

/** The target as a URL of one of `protocols`, or a usage error (exit 2) showing the expected form. */
export function parseTarget(target: string, protocols: string[], example: string): URL {
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    throw new UsageError(`--target "${target}" is not a URL; expected e.g. ${example}`);
  }
  if (!protocols.includes(u.protocol))
    throw new UsageError(
      `--target "${target}" is a ${u.protocol} URL; expected ${protocols.join(" or ")} e.g. ${example}`,
    );
  return u;
}

const EXAMPLES = {
  postgres: { protocols: ["postgresql:", "postgres:"], example: "postgresql://127.0.0.1:5432/jarvis" },
  redis: { protocols: ["redis:", "rediss:"], example: "redis://127.0.0.1:6379" },
  chroma: { protocols: ["http:", "https:"], example: "http://127.0.0.1:8000/default_database" },
} as const;

/** A target URL without credentials borrows them from the matching connection variable. */
export function withCredentials(target: string, from: string | undefined): string {
  const t = new URL(target);
  if (t.username || t.password || !from) return target;
  const f = new URL(from);
  t.username = f.username;
  t.password = f.password;
  return t.toString();
}

export const restore = defineCommand({
  name: "restore",
  summary: "restore a backup into a target, refusing a non-empty one unless --confirm names it",
  usage:
    "jarvis-data restore <postgres|redis|chroma|logs> --backup ID --target URL [--kind logical|physical] [--time T | --name N] [--confirm NAME] [--force] [--json]",
  description: [
    "postgres (logical): --target postgresql://host:port/db (credentials from DATABASE_URL when absent); the database is",
    "  created when missing; pg_cron is left out unless the target is the server's cron.database_name.",
    "postgres (physical): --kind physical --target /path/to/stopped/data-dir [--time '2026-11-01 02:13:00+00' | --name POINT];",
    "  --backup is a pgBackRest label (optional). Start the server afterwards: it replays WAL and promotes.",
    "redis: --target redis://host:port (the admin user; credentials from REDIS_URL when absent); --confirm host:port.",
    "chroma: --target http://host:port[/database] (CHROMA_TOKEN); --confirm <database>.",
    "logs: --target /path/to/dir (written beside it, then swapped in); --confirm /path/to/dir.",
    "Without --backup, the newest backup whose manifest is valid is used. Every restore loads beside",
    "the target, checks the result against the manifest, then swaps it in: a failure leaves the target as it was.",
    "In prod (JARVIS_ENVIRONMENT=prod), replacing a non-empty target needs --force as well as --confirm.",
  ].join("\n"),
  options: {
    backup: { type: "string", description: "the backup's id (default: the newest valid one)" },
    target: { type: "string", required: true, description: "where to restore (URL or directory, see above)" },
    time: { type: "string", description: "physical: recover to this time" },
    name: { type: "string", description: "physical: recover to this restore point" },
    confirm: { type: "string", description: "the non-empty target's name, to replace it" },
    kind: { type: "string", choices: ["logical", "physical"], description: "postgres: the backup's kind" },
    force: { type: "boolean", description: "prod: replace a non-empty target (with --confirm)" },
  },
  async run(ctx) {
    const [store] = parseSource(ctx.args[0], false);
    const { target, backup: id, confirm, time, name } = ctx.options;
    const physical = ctx.options.kind === "physical" || time !== undefined || name !== undefined;
    const force = Boolean(ctx.options.force);
    if (store !== "logs" && !physical) {
      const { protocols, example } = EXAMPLES[store!];
      parseTarget(target, [...protocols], example);
    }
    const deps = opsFromEnv(ctx);
    const common = {
      store: deps.store,
      id,
      confirm,
      force,
      environment: deps.environment,
      log: ctx.log,
      progress: deps.progress?.(`restore ${store}`, store === "chroma" ? "rows" : "bytes"),
    };
    const showPlan = (plan: object) => {
      const overwrites = (plan as { overwrites: unknown }).overwrites;
      ctx.log.warn(
        overwrites
          ? "this restore overwrites the target's current contents"
          : "the target is empty; nothing will be overwritten",
        { plan: JSON.stringify(plan) },
      );
    };
    try {
      let result: object;
      if (store === "postgres" && physical) {
        if (!deps.pgbackrest)
          throw new UsageError(
            "a physical restore needs JARVIS_PGBACKREST_CONFIG_PATH (the directory of pgbackrest.conf)",
          );
        const dir = target.startsWith("file://") ? new URL(target).pathname : target;
        const t = time
          ? { type: "time" as const, time }
          : name
            ? { type: "name" as const, name }
            : { type: "latest" as const };
        result = {
          store,
          kind: "physical",
          target: dir,
          ...(await restorePhysical(deps.pgbackrest, {
            pgPath: dir,
            set: id,
            target: t,
            confirm,
            onPlan: showPlan,
          })),
        };
      } else if (store === "postgres") {
        const r = await restorePostgresLogical({
          ...common,
          targetUrl: withCredentials(target, deps.postgresUrl),
          jobs: deps.jobs,
          onPlan: showPlan,
        });
        result = { store, kind: "logical", ...r };
      } else if (store === "redis") {
        const r = await restoreRedis({
          ...common,
          targetUrl: withCredentials(target, ctx.env.redisUrl),
          onPlan: showPlan,
        });
        result = { store, ...r };
      } else if (store === "logs") {
        result = { store, ...(await restoreLogs({ ...common, targetDir: target })) };
      } else {
        const u = new URL(target);
        const database = u.pathname.replace(/^\//, "") || undefined;
        const r = await restoreChroma({
          ...common,
          target: { url: u.origin, token: deps.chroma?.token, database },
          createDatabase: true,
          onPlan: showPlan,
        });
        result = { store, ...r };
      }
      ctx.print(
        result,
        `restored ${store} into ${(result as { target: string }).target} in ${((result as { durationSeconds: number }).durationSeconds ?? 0).toFixed(1)} s`,
      );
      return EXIT.ok;
    } finally {
      deps.store.destroy();
    }
  },
});
