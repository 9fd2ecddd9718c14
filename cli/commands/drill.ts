/** `jarvis-data drill [--store S]`: restore the latest backups into scratch targets and check them (A7, A9). */
import { EXIT } from "../../core/errors.ts";
import { runDrill } from "../../core/ops/jobs.ts";
import { STORES } from "../../core/backup/manifest.ts";
import { defineCommand } from "../command.ts";
import { opsFromEnv } from "../env.ts";
import { parseStore } from "./backup.ts";

export const drillCommand = defineCommand({
  name: "drill",
  summary:
    "recovery drill: restore the latest backup of each store into a scratch target and check it; exit 1 on any failure",
  usage: "jarvis-data drill [--store postgres|redis|chroma] [--json]",
  description: [
    "Checks: manifest checksums, row/key/record counts, constraints validated, migration version, a vector query.",
    "Records the restore time (RTO) and the backup's age (RPO) in the ops state (JARVIS_OPS_STATE) behind /metrics.",
    "Scratch targets: a new database on DATABASE_URL's server, a throwaway redis-server, a new Chroma database.",
  ].join("\n"),
  options: {
    store: { type: "string", choices: [...STORES, "all"], default: "all", description: "the store to drill" },
  },
  async run(ctx) {
    const stores = parseStore(ctx.options.store, true);
    const deps = opsFromEnv(ctx);
    try {
      const results = await runDrill(deps, stores);
      ctx.print(
        { ok: results.every((r) => r.ok), results },
        results
          .map(
            (r) =>
              `${r.store}: ${r.ok ? "passed" : "FAILED"}${r.id ? ` (backup ${r.id}, RTO ${r.rtoSeconds?.toFixed(1) ?? "?"} s, RPO ${r.rpoSeconds?.toFixed(0) ?? "?"} s)` : ""}${r.error ? `: ${r.error}` : ""}\n${r.checks.map((c) => `  ${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}`).join("\n")}`,
          )
          .join("\n"),
      );
      return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
    } finally {
      deps.store.destroy();
    }
  },
});
