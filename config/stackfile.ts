/** Reading Pulumi stack files (Pulumi.<stack>.yaml) without the Pulumi CLI. */
import { readFileSync } from "node:fs";
import YAML from "yaml";

/**
 * Reads a Pulumi stack file's `config:` map into the string form Pulumi hands a program.
 * `secure:` values are ciphertext that only the CLI can decrypt: they become placeholders.
 */
export function readStackFile(path: string): { config: Record<string, string>; secretKeys: string[] } {
  const doc = YAML.parse(readFileSync(path, "utf8")) ?? {};
  const raw = (doc.config ?? {}) as Record<string, unknown>;
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
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
      return v;
    };
    const plain = strip(value, key);
    config[key] = typeof plain === "string" ? plain : JSON.stringify(plain);
    if (secret) secretKeys.push(key);
  }
  return { config, secretKeys };
}
