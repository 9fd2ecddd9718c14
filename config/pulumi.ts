/**
 * Reads the `jarvis:*` keys of the running Pulumi stack and validates them, before any resource
 * exists. `validateStack` is the one check: `pulumi up` (loadStackConfig) and `jarvis-data config
 * check` both run it, so a config that passes the check does not fail at deploy time.
 */
import { MAX_BUCKET_PREFIX, bucketPrefixFits } from "../settings/bucket-policy.ts";
import { existsSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseConfig, type JarvisConfig } from "./schema.ts";
import { readStackFile } from "./stackfile.ts";

/** Pulumi hands config over as strings; objects, numbers and booleans arrive JSON-encoded. */
export function decodeConfigMap(all: Record<string, string>, namespace = "jarvis"): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(all)) {
    if (!key.startsWith(`${namespace}:`)) continue;
    let decoded: unknown = value;
    try {
      decoded = JSON.parse(value);
    } catch {
      // a plain string such as `dev`
    }
    raw[key.slice(namespace.length + 1)] = decoded;
  }
  return raw;
}

/**
 * What the components need beyond the schema, checked before any resource exists: the dev S3
 * container's published port (`pulumi up` on the workstation talks to it), and a stack name that
 * makes valid bucket names.
 */
export function deployProblems(cfg: JarvisConfig, stack: string): string[] {
  const problems: string[] = [];
  if (cfg.backup.storage.provider !== "aws" && cfg.ports.publish.s3 === undefined) {
    problems.push(
      "jarvis:ports.publish.s3: required with an S3-compatible dev store (backup.storage.provider rustfs or minio), so that `pulumi up` on this workstation can reach the S3 container; set it, e.g. 9000",
    );
  }
  const prefix = `jarvis-${stack}`;
  if (!bucketPrefixFits(prefix)) {
    problems.push(
      `stack "${stack}": bucket names derive from it, so it must be lowercase letters, digits and '-' and at most ${MAX_BUCKET_PREFIX - "jarvis--pgbackrest-".length} characters; use a shorter, lowercase stack name`,
    );
  }
  return problems;
}

/** The schema, then the deploy-time checks; throws ConfigError listing every problem. */
export function validateStack(raw: Record<string, unknown>, stack: string): JarvisConfig {
  const cfg = parseConfig(raw);
  const problems = deployProblems(cfg, stack);
  if (problems.length) throw new ConfigError(problems);
  return cfg;
}

/** One warning per secret written in clear in a stack file, with the command that encrypts it. */
export function clearSecretWarnings(paths: string[]): string[] {
  return paths.map(
    (p) =>
      `${p} is in clear text in the stack file: anyone who reads the repository reads it. Remove it from the file and set it encrypted: pulumi config set --secret --path '${p}' '<value>'`,
  );
}

/** Throws ConfigError listing every problem when the stack config is invalid. */
export function loadStackConfig(): JarvisConfig {
  const stack = pulumi.getStack();
  const file = `Pulumi.${stack}.yaml`;
  if (existsSync(file))
    for (const w of clearSecretWarnings(readStackFile(file).clearSecrets)) pulumi.log.warn(w);
  return validateStack(decodeConfigMap(pulumi.runtime.allConfig()), stack);
}
