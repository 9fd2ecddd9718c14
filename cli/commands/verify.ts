/** `jarvis-data verify <store> [--backup ID]`: every object re-read and checked against the manifest (A7). */
import { EXIT, UsageError } from "../../core/errors.ts";
import { verifyBackup } from "../../core/backup/verify.ts";
import { defineCommand } from "../command.ts";
import { opsFromEnv } from "../env.ts";
import { parseSource } from "./backup.ts";

export const verify = defineCommand({
  name: "verify",
  summary: "check a backup's objects against its manifest (sizes and sha256); exit 1 naming any bad object",
  usage: "jarvis-data verify <postgres|redis|chroma|logs|all> [--backup ID] [--kind physical] [--json]",
  description:
    "Without --backup, the latest complete backup. --kind physical runs pgBackRest's own verify on its repository.",
  options: {
    backup: { type: "string", description: "the backup's id (default: the latest complete one)" },
    kind: {
      type: "string",
      choices: ["logical", "physical"],
      description: "physical: pgBackRest's verify of its repository",
    },
  },
  async run(ctx) {
    const stores = parseSource(ctx.args[0], true);
    const deps = opsFromEnv(ctx);
    try {
      if (ctx.options.kind === "physical") {
        if (!deps.pgbackrest)
          throw new UsageError(
            "--kind physical needs JARVIS_PGBACKREST_CONFIG_PATH (the directory of pgbackrest.conf)",
          );
        await deps.pgbackrest.verify();
        ctx.print({ store: "postgres", kind: "physical", ok: true }, "pgBackRest repository verified");
        return EXIT.ok;
      }
      const results = [];
      for (const s of stores)
        results.push(
          await verifyBackup(deps.store, s, ctx.options.backup, {
            throwOnFailure: false,
            progress: deps.progress?.(`verify ${s}`),
          }),
        );
      const bad = results.filter((r) => !r.ok);
      ctx.print(
        stores.length === 1 ? results[0] : { results },
        results
          .map((r) =>
            r.ok
              ? `${r.store} ${r.id}: ok (${r.files} objects, ${(r.bytes / 1e6).toFixed(1)} MB)`
              : `${r.store} ${r.id}: FAILED\n  ${r.problems.map((p) => `${p.object}: ${p.problem}`).join("\n  ")}`,
          )
          .join("\n"),
      );
      return bad.length ? EXIT.failed : EXIT.ok;
    } finally {
      deps.store.destroy();
    }
  },
});
