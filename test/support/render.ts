/** Runs the offline render in a child process (Pulumi's runtime is global: one render per process). */
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import YAML from "yaml";
import type { RenderedResource } from "../../scripts/render-lib.ts";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

/** scripts/render-lib.ts's resource, with inputs left loose for the tests' assertions. */
export interface Rendered extends Omit<RenderedResource, "inputs"> {
  inputs: any;
}

export interface RenderRun {
  code: number;
  stdout: string;
  stderr: string;
}

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
  try {
    return JSON.parse(readFileSync(file, "utf8")) as RenderRun;
  } catch {
    const r = await produce();
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(r));
    renameSync(tmp, file);
    return r;
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

async function renderFresh(args: string[]): Promise<RenderRun> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ["--import", "tsx", "scripts/render.ts", ...args],
      { cwd: ROOT, maxBuffer: 64 << 20 },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === "number" ? err.code : 1,
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
    };
  }
}

/** Writes a stack file (the `config:` map of Pulumi.<stack>.yaml) to a temp dir and returns its path. */
export function stackFile(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "jarvis-stack-"));
  const path = join(dir, "Pulumi.test.yaml");
  writeFileSync(path, YAML.stringify({ config }));
  return path;
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
