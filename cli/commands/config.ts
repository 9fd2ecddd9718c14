import { resolve } from "node:path";
import { existsSync } from "node:fs";
import { decodeConfigMap } from "../../config/pulumi.ts";
import { ConfigError, parseConfig } from "../../config/schema.ts";
import { replacingChanges } from "../../config/immutable.ts";
import { UsageError, EXIT } from "../../core/errors.ts";
import { readStackFile } from "../../config/stackfile.ts";
import type { Command } from "../command.ts";

export const configCheck: Command = {
  name: "config check",
  summary: "validate a stack's config and print the effective values",
  usage: "jarvis-data config check <stack> [--config FILE] [--previous FILE] [--json]",
  description:
    "Reads Pulumi.<stack>.yaml (or FILE), applies the schema's defaults and lists every problem as jarvis:<key>: <what is wrong>. With --previous FILE (the deployed stack file), also refuses a change that would replace a bucket.",
  options: { config: { type: "string" }, previous: { type: "string" } },
  async run(ctx) {
    const stack = ctx.args[0];
    const file =
      (ctx.options.config as string | undefined) ?? (stack ? resolve(`Pulumi.${stack}.yaml`) : undefined);
    if (!file) throw new UsageError("name a stack (dev, prod) or pass --config FILE");
    if (!existsSync(file)) throw new UsageError(`no config file ${file}; create it or pass --config FILE`);
    try {
      const cfg = parseConfig(decodeConfigMap(readStackFile(file).config));
      // --previous: the deployed stack file; refuse what would replace a bucket (config/immutable.ts).
      const previous = ctx.options.previous as string | undefined;
      if (previous) {
        const problems = replacingChanges(parseConfig(decodeConfigMap(readStackFile(previous).config)), cfg);
        if (problems.length) throw new ConfigError(problems);
      }
      const { secrets, ...shown } = cfg;
      ctx.print(
        { valid: true, file, config: shown, secretsProvided: Object.keys(secrets) },
        `${file}: valid (${cfg.environment})`,
      );
      return EXIT.ok;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      ctx.print({ valid: false, file, problems: e.problems }, `${file}: ${e.message}`);
      return EXIT.usage;
    }
  },
};
