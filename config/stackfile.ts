/** Reading Pulumi stack files (Pulumi.<stack>.yaml) without the Pulumi CLI. */
import { readFileSync } from "node:fs";
import YAML from "yaml";
import { EXIT, JarvisError } from "../core/errors.ts";

/** The stack file is not YAML, or not a map: a usage error (exit 2) naming the line. */
export class StackFileError extends JarvisError {
  constructor(message: string) {
    super("JARVIS_CONFIG_YAML", message, EXIT.usage);
    this.name = "StackFileError";
  }
}

function parseYaml(path: string): Record<string, unknown> {
  const doc = YAML.parseDocument(readFileSync(path, "utf8"), { prettyErrors: true });
  const e = doc.errors[0];
  if (e) {
    const at = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "";
    throw new StackFileError(
      `${path} is not valid YAML${at}: ${e.message.split("\n")[0]}; fix the file (indentation, quotes, tabs) and run jarvis-data config check again`,
    );
  }
  const value: unknown = doc.toJS() ?? {};
  if (typeof value !== "object" || Array.isArray(value))
    throw new StackFileError(
      `${path}: expected a map with a config: key, got ${Array.isArray(value) ? "a list" : typeof value}`,
    );
  return value as Record<string, unknown>;
}

/**
 * Reads a Pulumi stack file's `config:` map into the string form Pulumi hands a program.
 * `secure:` values are ciphertext that only the CLI can decrypt: they become placeholders.
 * `clearSecrets` lists the `jarvis:secrets` entries written in clear (they should be `secure:`).
 */
export function readStackFile(path: string): {
  config: Record<string, string>;
  secretKeys: string[];
  clearSecrets: string[];
} {
  const raw = (parseYaml(path).config ?? {}) as Record<string, unknown>;
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const clearSecrets: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    let secret = false;
    const strip = (v: unknown, path: string): unknown => {
      if (v && typeof v === "object" && !Array.isArray(v) && "secure" in v) {
        secret = true;
        return `placeholder-for-${path}`.padEnd(24, "-");
      }
      if (Array.isArray(v)) return v.map((x, i) => strip(x, `${path}[${i}]`));
      if (v && typeof v === "object")
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x, `${path}.${k}`)]));
      if (key === "jarvis:secrets" && v !== null && v !== undefined && v !== "") clearSecrets.push(path);
      return v;
    };
    const plain = strip(value, key);
    config[key] = typeof plain === "string" ? plain : JSON.stringify(plain);
    if (secret) secretKeys.push(key);
  }
  return { config, secretKeys, clearSecrets };
}
