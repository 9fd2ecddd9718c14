/** Child processes for the backup tools (pg_dump, pg_restore, pgbackrest, redis-server). */
import { spawn, spawnSync } from "node:child_process";
import { JarvisError } from "../errors.ts";
import { redactText } from "../log.ts";

export class ToolError extends JarvisError {
  constructor(
    tool: string,
    detail: string,
    fix: string,
    code: "JARVIS_TOOL_FAILED" | "JARVIS_TOOL_MISSING" = "JARVIS_TOOL_FAILED",
  ) {
    super(code, `${tool} failed: ${redactText(detail).trim().split("\n").slice(-12).join("\n")}; ${fix}`);
  }
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** What to tell the user when it fails. */
  fix?: string;
  /** How to name the tool in an error (default: the command and its first argument). */
  label?: string;
  /** Called with each line the tool writes to stderr, as it writes it. */
  onStderrLine?: (line: string) => void;
  /** Aborting it stops the tool (SIGTERM); the run then rejects. */
  signal?: AbortSignal;
}

/** Runs a tool to completion; rejects with its stderr tail when it exits non-zero. */
export function run(
  cmd: string,
  args: string[],
  opts: RunOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let stdout = "";
    let stderr = "";
    let partial = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-20_000);
      if (!opts.onStderrLine) return;
      const lines = (partial + d.toString()).split("\n");
      partial = lines.pop()!;
      for (const line of lines) opts.onStderrLine(line);
    });
    child.on("error", (e) =>
      reject(
        opts.signal?.aborted
          ? opts.signal.reason
          : new ToolError(
              cmd,
              (e as Error).message,
              `install it (scripts/install-test-deps.sh) or put it on PATH`,
              "JARVIS_TOOL_MISSING",
            ),
      ),
    );
    child.on("close", (code, signal) => {
      if (partial && opts.onStderrLine) opts.onStderrLine(partial);
      if (code === 0) resolveRun({ stdout, stderr });
      else
        reject(
          new ToolError(
            opts.label ?? `${cmd} ${args[0] ?? ""}`.trim(),
            stderr || stdout || `exit ${code ?? signal}`,
            opts.fix ?? "see the message above",
          ),
        );
    });
  });
}

/** libpq environment for a postgresql:// URL, so no password ever appears in a command line. */
export function pgEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  const env: NodeJS.ProcessEnv = {
    PGHOST: decodeURIComponent(u.hostname) || "localhost",
    PGPORT: u.port || "5432",
    PGUSER: decodeURIComponent(u.username) || "postgres",
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)) || "postgres",
    PGAPPNAME: "jarvis-data-backup",
  };
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const ssl = u.searchParams.get("sslmode");
  if (ssl) env.PGSSLMODE = ssl;
  return env;
}

/** The database named by a postgresql:// URL. */
export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1)) || "postgres";
}

/** The same server, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Finds a PostgreSQL client binary: PATH first, then the Debian layout. */
export function pgBinary(name: string): string {
  const fromEnv = process.env.JARVIS_PG_BIN;
  if (fromEnv) return `${fromEnv}/${name}`;
  for (const dir of ["/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"]) {
    if (spawnSync("test", ["-x", `${dir}/${name}`]).status === 0) return `${dir}/${name}`;
  }
  return name;
}

/** uid/gid of an OS user (pgBackRest must run as the PostgreSQL server's owner). */
export function osUser(name: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync("id", ["-u", name], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", name], { encoding: "utf8" });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
