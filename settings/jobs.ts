/**
 * One-shot jobs of the ops image (roles, migrations, cron schedules), run by `pulumi up` as
 * `docker run --rm` from the machine running Pulumi (components/ops-job.ts wraps this in a
 * @pulumi/command `local.Command`). Why not a docker provider container: the provider records a
 * one-shot container and its exit code in the state even when it failed, so the next `up` would
 * not run it again, and `dependsOn` on it waits for its existence, not its success. A command that
 * fails on create is not recorded: the `up` fails, its dependents are not created, and the next
 * `up` runs it again (docs/first-up.md).
 */
import { createHash } from "node:crypto";

/** The helper inside the ops image (docker/ops/job-entry.mjs) that writes the job's files, then runs it. */
export const JOB_ENTRY = "/usr/local/lib/jarvis/job-entry.mjs";

/** A file the job receives on its stdin; written 0400 (secret) or 0444 (public) before the CLI starts. */
export interface JobFileContent {
  file: string;
  content: string;
  /** Not a credential: readable by everyone in the container. */
  public?: boolean;
}

export interface JobRunSpec {
  /** Docker name of the job's container (a leftover of an interrupted run is removed first). */
  containerName: string;
  network: string;
  image: string;
  /** The CLI and its arguments, e.g. ["jarvis-data", "migrate", "apply", "--json"]. */
  command: string[];
  envs: string[];
  labels: { label: string; value: string }[];
  /** Directories that hold the job's files: each becomes a tmpfs, so nothing lands in the image's layers. */
  fileDirs: string[];
  memoryMb: number;
  cpus: number;
  /** What the error names when the job fails ("the migration job"). */
  what: string;
}

/** Quotes one word for POSIX sh. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The `docker run` argument vector of a job (without `docker`). */
export function jobRunArgs(spec: JobRunSpec): string[] {
  return [
    "run",
    "--rm",
    "--interactive",
    "--name",
    spec.containerName,
    "--network",
    spec.network,
    "--restart",
    "no",
    "--memory",
    `${spec.memoryMb}m`,
    "--memory-swap",
    `${spec.memoryMb}m`,
    "--cpus",
    String(spec.cpus),
    ...spec.fileDirs.flatMap((d) => ["--tmpfs", `${d}:rw,noexec,nosuid,size=1m`]),
    ...spec.labels.flatMap((l) => ["--label", `${l.label}=${l.value}`]),
    ...spec.envs.flatMap((e) => ["--env", e]),
    spec.image,
    "node",
    JOB_ENTRY,
    ...spec.command,
  ];
}

/**
 * The script `local.Command` runs: remove a leftover container of the same name (an interrupted
 * run), run the job with its files on stdin, and on a non-zero exit say which job failed and what
 * to do; the exit code is the job's, so the `up` fails with it.
 */
export function jobRunScript(spec: JobRunSpec): string {
  const name = shellQuote(spec.containerName);
  return [
    `docker rm --force ${name} >/dev/null 2>&1 || true`,
    ["docker", ...jobRunArgs(spec)].map(shellQuote).join(" "),
    "rc=$?",
    `if [ "$rc" -ne 0 ]; then echo ${shellQuote(`jarvis: ${spec.what} (container ${spec.containerName}) exited with`)} "$rc": its JSON output above names the problem and the fix, then run pulumi up again >&2; fi`,
    'exit "$rc"',
  ].join("\n");
}

/** What the job reads on stdin: its files, as JSON (docker/ops/job-entry.mjs). */
export function jobStdin(files: JobFileContent[]): string {
  return JSON.stringify(
    files.map((f) => ({ file: f.file, content: f.content, mode: f.public ? 0o444 : 0o400 })),
  );
}

/** The tmpfs directories that hold a job's files: each file's top two path segments (/run/secrets). */
export function jobFileDirs(files: { file: string }[]): string[] {
  const dirs = files.map((f) => {
    const parts = f.file.split("/").filter(Boolean);
    if (!f.file.startsWith("/") || parts.length < 3)
      throw new Error(`job file ${f.file}: must be an absolute path at least two directories deep`);
    return `/${parts[0]}/${parts[1]}`;
  });
  return [...new Set(dirs)].sort();
}

/** The `triggers` of a job: a hash of what it runs and with what (secret files excluded: they are stdin, diffed as a secret). */
export function jobTrigger(spec: JobRunSpec, publicFiles: JobFileContent[]): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ args: jobRunArgs(spec), files: publicFiles }));
  return h.digest("hex");
}
