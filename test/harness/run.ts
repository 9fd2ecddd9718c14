/**
 * `npm test`: starts one throwaway PostgreSQL, Redis, Chroma and S3 server on 127.0.0.1, runs
 * every test file with node:test against them, and stops and removes them afterwards, whether
 * the tests pass, fail or are interrupted.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { describeServices, SERVICES_ENV, startServices, stopServices, type Services } from "./index.ts";

const root = resolve(import.meta.dirname, "../..");
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(resolve(root, "test"))
      .filter((f) => f.endsWith(".test.ts"))
      .sort()
      .map((f) => `test/${f}`);

let services: Partial<Services> = {};
let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await stopServices(services);
  }
  process.exit(code);
}
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => void shutdown(130));

try {
  services = await startServices(["postgres", "redis", "chroma", "s3"]);
} catch (e) {
  console.error(`test harness: ${(e as Error).message}`);
  await shutdown(1);
}

const child = spawn(
  process.execPath,
  ["--import", "tsx", "--test", `--test-concurrency=${process.env.JARVIS_TEST_CONCURRENCY ?? "4"}`, ...files],
  { stdio: "inherit", cwd: root, env: { ...process.env, [SERVICES_ENV]: describeServices(services) } },
);
child.on("exit", (code, signal) => void shutdown(code ?? (signal ? 1 : 0)));
