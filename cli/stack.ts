/**
 * The stack file a command reads: --config FILE, else Pulumi.<stack>.yaml in the working
 * directory. One place for cron, retention, status, config check and the agent.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { decodeConfigMap } from "../config/pulumi.ts";
import { parseConfig, type JarvisConfig } from "../config/schema.ts";
import { readStackFile } from "../config/stackfile.ts";
import { UsageError } from "../core/errors.ts";

/** The `--config` option every command that reads a stack file declares. */
export const CONFIG_OPTION = {
  type: "string",
  description: "the stack file (default: Pulumi.<stack>.yaml)",
} as const;

/** The stack file's path, which must exist; a usage error when no stack is named or the file is missing. */
export function stackFilePath(stack: string | undefined, file: string | undefined): string {
  const path = file ?? (stack ? resolve(`Pulumi.${stack}.yaml`) : undefined);
  if (!path) throw new UsageError("name a stack (dev, prod) or pass --config FILE");
  if (!existsSync(path))
    throw new UsageError(`no config file ${path}; name an existing stack (dev, prod) or pass --config FILE`);
  return path;
}

/**
 * The stack's config, parsed with the schema's defaults. With `orDefaults`, naming no stack and
 * no file gives the schema's defaults alone (the audit's figures), for commands that can run
 * without a stack (status, the agent).
 */
export function stackConfig(
  stack: string | undefined,
  file: string | undefined,
  opts: { orDefaults?: boolean } = {},
): JarvisConfig {
  if (opts.orDefaults && !stack && !file) return parseConfig({ environment: "dev" });
  return parseConfig(decodeConfigMap(readStackFile(stackFilePath(stack, file)).config));
}
