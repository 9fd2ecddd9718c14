/**
 * A throwaway Ceph Object Gateway (radosgw) on 127.0.0.1: the S3 API with bucket versioning and
 * lifecycle configuration, which s3rver lacks (it answers NotImplemented to `?lifecycle`).
 *
 * One monitor, one OSD on memstore (RAM, no disk) and one gateway, from Debian's ceph packages
 * (scripts/install-test-deps.sh), in a temp dir on free ports, with auth off (loopback only).
 * About 15 s to start. The dev stack's own store is RustFS, which is neither on npm nor in Debian:
 * docs/backup-storage.md says what this test server stands for and what it does not.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, MissingDependencyError } from "./servers.ts";

export interface RgwServer {
  /** https://localhost:PORT: the gateway serves TLS with a certificate signed by `caFile`. */
  endpoint: string;
  port: number;
  /** PEM of the CA that signed the gateway's certificate (names localhost and 127.0.0.1). */
  caFile: string;
  caPem: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  dir: string;
  stop(): Promise<void>;
}

const BINARIES = ["monmaptool", "ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph"];

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number): string {
  const tls = `ssl_certificate=${dir}/tls/rgw.crt ssl_private_key=${dir}/tls/rgw.key`;
  return [
    "[global]",
    `fsid = ${fsid}`,
    `mon host = v1:127.0.0.1:${monPort}`,
    "auth cluster required = none",
    "auth service required = none",
    "auth client required = none",
    "osd pool default size = 1",
    "osd pool default min size = 1",
    "mon allow pool size one = true",
    "osd objectstore = memstore",
    "memstore device bytes = 536870912",
    "osd crush chooseleaf type = 0",
    // The OSD is placed in the CRUSH map by hand below: its own update at boot races its monitor session.
    "osd crush update on start = false",
    "osd class update on start = false",
    "ms bind ipv6 = false",
    `run dir = ${dir}/run`,
    `log file = ${dir}/log/$name.log`,
    `admin socket = ${dir}/run/$name.asok`,
    `mon data = ${dir}/mon`,
    `osd data = ${dir}/osd0`,
    "[client.rgw]",
    `rgw frontends = beast ssl_endpoint=127.0.0.1:${rgwPort} ${tls}`,
    "",
  ].join("\n");
}

function runOrThrow(cmd: string, args: string[], dir: string): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}; logs in ${dir}/log`);
  return r.stdout;
}

async function until(what: string, dir: string, probe: () => boolean | Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not come up within ${ms / 1000} s; logs in ${dir}/log`);
}

/** A CA and a certificate for localhost / 127.0.0.1 signed by it, in DIR/tls (openssl). */
function makeCertificates(dir: string): string {
  const tls = join(dir, "tls");
  mkdirSync(tls);
  const f = (n: string) => join(tls, n);
  writeFileSync(f("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  const steps: string[][] = [
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=jarvis test CA",
      "-keyout",
      f("ca.key"),
      "-out",
      f("ca.crt"),
    ],
    [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-keyout",
      f("rgw.key"),
      "-out",
      f("rgw.csr"),
    ],
    [
      "x509",
      "-req",
      "-in",
      f("rgw.csr"),
      "-CA",
      f("ca.crt"),
      "-CAkey",
      f("ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      f("ext.cnf"),
      "-out",
      f("rgw.crt"),
    ],
  ];
  for (const args of steps) runOrThrow("openssl", args, dir);
  chmodSync(tls, 0o755);
  chmodSync(f("ca.crt"), 0o644);
  return f("ca.crt");
}

/** Starts a monitor, an OSD and a gateway; `stop()` ends the three and removes the directory. */
export async function startRgw(): Promise<RgwServer> {
  for (const b of BINARIES)
    if (spawnSync("sh", ["-c", `command -v ${b}`]).status !== 0)
      throw new MissingDependencyError(`${b} (Debian packages ceph-mon, ceph-osd, radosgw)`);
  const dir = mkdtempSync(join(tmpdir(), "jarvis-rgw-"));
  for (const d of ["mon", "osd0", "run", "log"]) mkdirSync(join(dir, d));
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const caFile = makeCertificates(dir);
  chmodSync(dir, 0o755); // the CA file is read by other users too (pgBackRest runs as postgres)
  const conf = join(dir, "ceph.conf");
  const fsid = randomUUID();
  writeFileSync(conf, cephConf(dir, fsid, monPort, rgwPort));
  const c = ["-c", conf];
  const children: ChildProcess[] = [];
  const daemon = (cmd: string, args: string[]) => {
    const child = spawn(cmd, [...c, "-f", ...args], { stdio: "ignore" });
    children.push(child);
  };
  const stop = async () => {
    await Promise.all(
      children.map(
        (ch) =>
          new Promise<void>((ok) => {
            if (ch.exitCode !== null || ch.signalCode !== null) return ok();
            ch.once("exit", () => ok());
            ch.kill("SIGTERM");
            setTimeout(() => ch.kill("SIGKILL"), 5000).unref();
          }),
      ),
    );
    if (!process.env.JARVIS_KEEP_RGW) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const monmap = join(dir, "monmap");
    runOrThrow(
      "monmaptool",
      ["--create", "--add", "a", `v1:127.0.0.1:${monPort}`, "--fsid", fsid, monmap],
      dir,
    );
    runOrThrow("ceph-mon", [...c, "--mkfs", "-i", "a", "--monmap", monmap], dir);
    daemon("ceph-mon", ["-i", "a"]);
    await until(
      "ceph-mon",
      dir,
      () => spawnSync("ceph", [...c, "mon", "stat"], { timeout: 5000 }).status === 0,
    );
    runOrThrow("ceph", [...c, "osd", "create"], dir);
    runOrThrow("ceph", [...c, "osd", "crush", "add", "osd.0", "1", "root=default", "host=localhost"], dir);
    runOrThrow("ceph-osd", [...c, "-i", "0", "--mkfs"], dir);
    daemon("ceph-osd", ["-i", "0"]);
    daemon("radosgw", ["-n", "client.rgw"]);
    const endpoint = `https://localhost:${rgwPort}`;
    const caPem = readFileSync(caFile, "utf8");
    await until("radosgw", dir, () => httpsOk(endpoint, caPem), 90_000);
    const accessKeyId = `JARVIS${randomBytes(6).toString("hex").toUpperCase()}`;
    const secretAccessKey = randomBytes(20).toString("hex");
    runOrThrow(
      "radosgw-admin",
      [
        ...c,
        "user",
        "create",
        "--uid=jarvis",
        "--display-name=jarvis",
        `--access-key=${accessKeyId}`,
        `--secret=${secretAccessKey}`,
      ],
      dir,
    );
    return {
      endpoint,
      port: rgwPort,
      caFile,
      caPem,
      region: "us-east-1",
      accessKeyId,
      secretAccessKey,
      dir,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** true when GET url answers 200 over TLS trusted through `ca`. */
function httpsOk(url: string, ca: string): Promise<boolean> {
  return new Promise((ok) => {
    const req = get(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      ok(res.statusCode === 200);
    });
    req.on("error", () => ok(false));
    req.on("timeout", () => req.destroy());
  });
}
