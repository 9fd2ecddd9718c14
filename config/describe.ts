/** How a schema problem reads: `jarvis:<key.path>: <what is wrong, what is allowed>`, secrets never echoed. */
import type { z } from "zod";

/** What is wrong with one value and what is allowed. */
export function describe(issue: z.core.$ZodIssue): string {
  const secretPath = issue.path[0] === "secrets";
  const got = (x: unknown) => (secretPath ? "" : ` (got ${JSON.stringify(x)})`);
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined
        ? `required, missing; expected ${issue.expected}`
        : `wrong type: expected ${issue.expected}, got ${Array.isArray(issue.input) ? "array" : typeof issue.input}${got(issue.input)}`;
    case "too_small":
      return `too small: must be ${issue.inclusive === false ? ">" : ">="} ${String(issue.minimum)}${got(issue.input)}`;
    case "too_big":
      return `too big: must be ${issue.inclusive === false ? "<" : "<="} ${String(issue.maximum)}${got(issue.input)}`;
    case "invalid_value":
      if (issue.input === undefined)
        return `required, missing; allowed: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}${got(issue.input)}`;
    case "unrecognized_keys":
      return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}; check the spelling against README's config reference`;
    default:
      return `${issue.message}${issue.code === "custom" ? "" : got(issue.input)}`;
  }
}

/** The problem's key as the user writes it: jarvis:a.b[0].c */
export function keyOf(path: PropertyKey[]): string {
  return (
    "jarvis:" +
    path
      .map((p) => (typeof p === "number" ? `[${p}]` : String(p)))
      .join(".")
      .replace(/\.\[/g, "[")
  );
}
