/** Runs `jarvis-data status` in a child process (async: the harness's servers live in the test's process). */
import { execFile } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

/**
 * The CLI sees only ENV for its connection settings: DATABASE_URL, PG*, REDIS_URL, CHROMA_* and
 * JARVIS_* of the test's own environment are removed first.
 */
export function statusCli(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(DATABASE_URL|PG[A-Z]+|REDIS_URL|CHROMA_URL|CHROMA_TOKEN|JARVIS_.*)$/.test(k),
    ),
  );
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "cli/main.ts", "status", ...args],
      { cwd: ROOT, env: { ...clean, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
