import { basename } from "node:path";
import { clearSecretWarnings, decodeConfigMap, validateStack } from "../../config/pulumi.ts";
import { ConfigError } from "../../config/schema.ts";
import { replacingChanges } from "../../config/immutable.ts";
import { EXIT } from "../../core/errors.ts";
import { readStackFile } from "../../config/stackfile.ts";
import { defineCommand } from "../command.ts";
import { CONFIG_OPTION, stackFilePath } from "../stack.ts";

export const configCheck = defineCommand({
  name: "config check",
  summary: "validate a stack's config as `pulumi up` does and print the effective values",
  usage: "jarvis-data config check <stack> [--config FILE] [--previous FILE] [--json]",
  description: [
    "Reads Pulumi.<stack>.yaml (or FILE), applies the schema's defaults and the checks `pulumi up` runs",
    "before creating anything, and lists every problem as jarvis:<key>: <what is wrong>. Secrets written",
    "in clear in the file are reported as warnings, with the command that encrypts them. With",
    "--previous FILE (the deployed stack file), also refuses a change that would replace a bucket.",
  ].join("\n"),
  options: {
    config: CONFIG_OPTION,
    previous: { type: "string", description: "the deployed stack file, to refuse bucket-replacing changes" },
  },
  async run(ctx) {
    const stack = ctx.args[0];
    const file = stackFilePath(stack, ctx.options.config);
    const { config, clearSecrets } = readStackFile(file);
    const warnings = clearSecretWarnings(clearSecrets);
    for (const w of warnings) ctx.log.warn(w);
    const raw = decodeConfigMap(config);
    // the stack's name sets the bucket names: from the argument, else Pulumi.<stack>.yaml, else the environment
    const stackName = stack ?? /^Pulumi\.(.+)\.yaml$/.exec(basename(file))?.[1] ?? String(raw.environment);
    try {
      const cfg = validateStack(raw, stackName);
      // --previous: the deployed stack file; refuse what would replace a bucket (config/immutable.ts).
      if (ctx.options.previous) {
        const before = validateStack(decodeConfigMap(readStackFile(ctx.options.previous).config), stackName);
        const problems = replacingChanges(before, cfg);
        if (problems.length) throw new ConfigError(problems);
      }
      const { secrets, ...shown } = cfg;
      ctx.print(
        { valid: true, file, config: shown, secretsProvided: Object.keys(secrets), warnings },
        `${file}: valid (${cfg.environment})${warnings.length ? `, ${warnings.length} warning(s) above` : ""}`,
      );
      return EXIT.ok;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      ctx.print({ valid: false, file, problems: e.problems, warnings }, `${file}: ${e.message}`);
      return EXIT.usage;
    }
  },
});
