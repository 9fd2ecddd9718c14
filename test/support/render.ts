/**
 * Runs the offline render in a child process (Pulumi's runtime is global: renders take turns, away
 * from the test runner's own process), and caches it by sources and config for every test file.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import YAML from "yaml";
import { OPTIONAL_SECRET_NAMES, SECRET_NAMES } from "../../config/schema.ts";
import type { RenderedResource, RenderRun } from "../../scripts/render-lib.ts";
import { RenderPool } from "./render-pool.ts";
import { renderThrough } from "./render-server.ts";

const ROOT = resolve(import.meta.dirname, "../..");

/** scripts/render-lib.ts's resource, with inputs left loose for the tests' assertions. */
export interface Rendered extends Omit<RenderedResource, "inputs"> {
  inputs: any;
}

export type { RenderRun };

/**
 * The program's sources as one hash: a render of the same arguments over the same sources is the
 * same JSON, so test files (each its own process) share it through a cache in the temp dir.
 */
function sourcesHash(): string {
  const files = execFileSync(
    "git",
    ["ls-files", "-co", "--exclude-standard", "--", ":!test", ":!docs", ":!bench"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  )
    .split("\n")
    .filter(Boolean)
    .sort();
  const h = createHash("sha256");
  for (const f of files) {
    h.update(f);
    try {
      h.update(readFileSync(join(ROOT, f)));
    } catch {
      h.update("(missing)");
    }
  }
  return h.digest("hex").slice(0, 16);
}

let hash: string | undefined;
/** Renders asked for and not yet answered, by cache file: two tests asking at once share one. */
const pending = new Map<string, Promise<RenderRun>>();

async function cached(args: string[], produce: () => Promise<RenderRun>): Promise<RenderRun> {
  hash ??= sourcesHash();
  // A --config FILE (a temp file) is named by its content, so the same config renders once; a
  // file that cannot be read is an error case the render itself must report: not cached.
  const flag = args.indexOf("--config");
  const configAt = flag < 0 ? -1 : flag + 1;
  if (configAt > 0 && !existsSync(args[configAt] ?? "")) return produce();
  const key = args.map((a, i) =>
    i === configAt
      ? createHash("sha256").update(readFileSync(a)).digest("hex").slice(0, 16)
      : a.replace(/[^A-Za-z0-9-]/g, ""),
  );
  const dir = join(tmpdir(), "jarvis-render-cache");
  const file = join(dir, `${hash}-${key.join("_")}.json`);
  let r = pending.get(file);
  if (!r) {
    r = fromCache(file, produce);
    pending.set(file, r);
  }
  return r;
}

const readRun = (file: string) => JSON.parse(readFileSync(file, "utf8")) as RenderRun;

/** The pid in a lock file; 0 when it is gone or still being written (treated as alive). */
function lockOwner(lock: string): number {
  try {
    return Number(readFileSync(lock, "utf8")) || 0;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  if (!pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The cached run, or a fresh one stored for the next caller. Test files run in parallel: the first
 * to miss takes `<file>.lock` (its pid inside) and renders; the others wait for its result instead
 * of rendering the same stack again, and take over if its process is gone.
 */
async function fromCache(file: string, produce: () => Promise<RenderRun>): Promise<RenderRun> {
  mkdirSync(dirname(file), { recursive: true });
  const lock = `${file}.lock`;
  for (;;) {
    if (existsSync(file)) return readRun(file);
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx" });
      break;
    } catch {
      if (!alive(lockOwner(lock))) rmSync(lock, { force: true });
      await new Promise((next) => setTimeout(next, 50));
    }
  }
  try {
    const run = await produce();
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(run));
    renameSync(tmp, file);
    return run;
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Runs `scripts/render.ts` with `args`. The program runs once per stack and config (`--both`, then
 * cached): a caller asking for `--outputs` and one asking for the resources share that run.
 */
export async function renderRaw(args: string[]): Promise<RenderRun> {
  const wantsOutputs = args.includes("--outputs");
  const base = args.filter((a) => a !== "--outputs");
  const run = await cached(base, () => renderFresh([...base, "--both"]));
  if (run.code !== 0) return run;
  const both = JSON.parse(run.stdout) as { resources: unknown; outputs: unknown };
  const shown = wantsOutputs ? both.outputs : both.resources;
  return { ...run, stdout: JSON.stringify(shown, null, 2) + "\n" };
}

let pool: RenderPool | undefined;

/**
 * A fresh render: through the unit tier's shared render server when the runner gives its socket
 * (JARVIS_RENDER_SOCKET, test/support/run-unit.ts), else through this file's own worker.
 */
function renderFresh(args: string[]): Promise<RenderRun> {
  const socket = process.env.JARVIS_RENDER_SOCKET;
  if (socket) return renderThrough(socket, args);
  pool ??= new RenderPool(1, true);
  return pool.render(args);
}

/** Writes a stack file (the `config:` map of Pulumi.<stack>.yaml) to a temp dir and returns its path. */
export function stackFile(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "jarvis-stack-"));
  const path = join(dir, "Pulumi.test.yaml");
  writeFileSync(path, YAML.stringify({ config }));
  return path;
}

/** Every secret, optional ones included, as a sentinel value a test can search the render for. */
export const SENTINELS: Record<string, string> = Object.fromEntries(
  [...SECRET_NAMES, ...OPTIONAL_SECRET_NAMES].map((n) => [n, `SENTINEL-${n}-0123456789abcdef`]),
);

/**
 * Pulumi.<stack>.yaml with every secret given in clear (SENTINELS) and alerting by e-mail and
 * webhook, the render with the most secrets in it, plus `extra` keys. The test files that prove no
 * secret leaks share it, so it renders once per stack and extra.
 */
export function withSecrets(stack: "dev" | "prod", extra: Record<string, unknown> = {}): string {
  const doc = YAML.parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
  return stackFile({
    ...doc.config,
    "jarvis:secrets": SENTINELS,
    "jarvis:monitoring": {
      ...doc.config["jarvis:monitoring"],
      alerting: {
        email: { to: "ops@example.org", from: "jarvis@example.org", smarthost: "smtp.example.org:587" },
        webhook: true,
      },
    },
    ...extra,
  });
}

/** Renders a stack and returns its resources; fails the test with stderr when it does not render. */
export async function renderStack(stack: string, config?: Record<string, unknown>): Promise<Rendered[]> {
  const r = await renderRaw([stack, ...(config ? ["--config", stackFile(config)] : [])]);
  if (r.code !== 0) throw new Error(`render ${stack} exited ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Rendered[];
}

export const ofType = (rs: Rendered[], type: string) => rs.filter((r) => r.type === type);

/** Splits one POSIX sh line quoted by settings/jobs.ts shellQuote (plain words and '...' with '\''). */
export function shellSplit(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/(?:'(?:[^']|'\\'')*'|[^\s'])+/g)) {
    words.push(m[0].replace(/'((?:[^']|'\\'')*)'/g, (_, q: string) => q.replace(/'\\''/g, "'")));
  }
  return words;
}

/** A one-shot job as rendered (a local.Command): its `docker run` argv, options, env, labels, command. */
export function jobRun(r: Rendered) {
  const line = String(r.inputs.create)
    .split("\n")
    .find((l) => l.startsWith("docker run "));
  if (!line) throw new Error(`${r.name}: no docker run line in ${r.inputs.create}`);
  const argv = shellSplit(line);
  const values = (flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));
  const imageAt = argv.indexOf("node") - 1;
  return {
    argv,
    values,
    envs: values("--env"),
    labels: Object.fromEntries(
      values("--label").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    ),
    image: argv[imageAt]!,
    /** The CLI and its arguments, after the job entry. */
    command: argv.slice(imageAt + 3),
  };
}
