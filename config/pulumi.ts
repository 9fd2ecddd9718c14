/** Reads the `jarvis:*` keys of the running Pulumi stack and validates them, before any resource exists. */
import * as pulumi from "@pulumi/pulumi";
import { parseConfig, type JarvisConfig } from "./schema.ts";

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

/** Throws ConfigError listing every problem when the stack config is invalid. */
export function loadStackConfig(): JarvisConfig {
  return parseConfig(decodeConfigMap(pulumi.runtime.allConfig()));
}
