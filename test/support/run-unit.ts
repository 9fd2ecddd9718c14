/**
 * npm run test:unit: the unit tier (test/unit/*.test.ts) under node's test runner, with coverage,
 * and one render pool for all its files (test/support/render-server.ts) instead of a worker per
 * file. The runner's output and exit status are node --test's own.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RenderPool } from "./render-pool.ts";
import { serveRenders } from "./render-server.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const files = readdirSync(join(ROOT, "test/unit"))
  .filter((f) => f.endsWith(".test.ts"))
  .sort()
  .map((f) => join("test/unit", f));

const dir = mkdtempSync(join(tmpdir(), "jarvis-render-server-"));
const socket = join(dir, "render.sock");
// One worker: renders queue behind each other, and the other core runs the test files.
const pool = new RenderPool(1, false);
pool.warm();
const server = await serveRenders(pool, socket);
const child = spawn(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", "--experimental-test-coverage", ...files],
  { cwd: ROOT, stdio: "inherit", env: { ...process.env, JARVIS_RENDER_SOCKET: socket } },
);
const code = await new Promise<number>((done) =>
  child.on("exit", (c, signal) => done(c ?? (signal ? 1 : 0))),
);
server.close();
pool.close();
rmSync(dir, { recursive: true, force: true });
process.exit(code);
