/**
 * The Chroma gateway under load and under attack (issue 16 items 7 and 12), against the real
 * Chroma the harness starts. The gateway runs as its container does (settings/chroma.ts,
 * chromaGatewayCommand: its own entry, a capped heap), as a child process whose VmRSS (and its
 * children's) is sampled from /proc while 20 clients post 5 MB each, 200 requests in all.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { startChromaGateway, tokenSha256 } from "../core/chroma-gateway.ts";
import {
  CHROMA_GATEWAY_RSS_BUDGET_MB,
  chromaGatewayCommand,
  chromaGatewayMemoryMb,
} from "../settings/chroma.ts";
import { freePort, useServices } from "./harness/index.ts";

const { chroma } = await useServices("chroma");
const ROOT = join(import.meta.dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "jarvis-gwload-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const COLLECTIONS = "/api/v2/tenants/default_tenant/databases/default_database/collections";

/** VmRSS in kB of a process and its children (what the container's memory limit counts). */
function treeRssKb(pid: number): number {
  const rss = (p: number) => {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      return 0;
    }
  };
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    // no children file: count the process alone
  }
  return rss(pid) + children.reduce((sum, c) => sum + treeRssKb(c), 0);
}

async function startGatewayProcess(t: {
  after(fn: () => void): void;
}): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const hashFile = join(tmp, "token_sha256");
  writeFileSync(hashFile, tokenSha256(chroma.token) + "\n");
  const [cmd, ...args] = chromaGatewayCommand({
    upstream: chroma.upstreamUrl,
    listen: `127.0.0.1:${port}`,
    tokenSha256File: hashFile,
    appDir: ROOT,
  });
  const child = spawn(cmd === "node" ? process.execPath : cmd!, args, { cwd: ROOT, stdio: "ignore" });
  t.after(() => child.kill("SIGTERM"));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (
      await fetch(`${url}/api/v2/heartbeat`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { child, url };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the gateway did not start (exit ${child.exitCode})`);
}

/** One POST of `body`, resolving to the status (0: the connection failed). */
function post(url: string, path: string, body: Buffer, token?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      `${url}${path}`,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": body.length,
          ...(token ? { "x-chroma-token": token } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

test("20 concurrent authenticated 5 MB posts, 200 in all: no 5xx, under a minute, RSS within the budget the container limit is sized from", async (t) => {
  const { child, url } = await startGatewayProcess(t);
  const collection = (await (
    await fetch(`${url}${COLLECTIONS}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-chroma-token": chroma.token },
      body: JSON.stringify({ name: `gwload_${process.pid}_${Date.now()}`, get_or_create: true }),
    })
  ).json()) as { id: string };
  // A real 5 MB read: Chroma parses the whole body (a `where` holding a 5 MB string) and answers 200.
  const body = Buffer.from(JSON.stringify({ ids: ["x"], where: { k: "v".repeat(5_000_000) } }));
  const idle = treeRssKb(child.pid!);
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, treeRssKb(child.pid!))), 25);
  const statuses: number[] = [];
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < 200) {
      next++;
      statuses.push(await post(url, `${COLLECTIONS}/${collection.id}/get`, body, chroma.token));
    }
  };
  try {
    await Promise.all(Array.from({ length: 20 }, worker));
  } finally {
    clearInterval(sampler);
  }
  const seconds = (Date.now() - started) / 1000;
  const budgetKb = CHROMA_GATEWAY_RSS_BUDGET_MB * 1024;
  t.diagnostic(
    `idle ${(idle / 1024).toFixed(0)} MB, peak ${(peak / 1024).toFixed(0)} MB under load, budget ${CHROMA_GATEWAY_RSS_BUDGET_MB} MB of a ${chromaGatewayMemoryMb()} MB container limit, ${statuses.length} requests in ${seconds.toFixed(1)} s`,
  );
  assert.equal(statuses.length, 200);
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
    "every request answered 200 (no 5xx, no dropped connection)",
  );
  assert.ok(seconds < 60, `took ${seconds} s`);
  assert.ok(peak < budgetKb, `peak RSS ${peak} kB is over the budget ${budgetKb} kB`);
  assert.equal(child.exitCode, null, "the gateway is still running");
});

/**
 * Sends headers declaring `declared` bytes, then writes the body in 64 kB chunks until the
 * gateway stops taking them. Returns the status line and how many bytes the gateway let in.
 */
async function pushBody(
  url: string,
  declared: number,
  token?: string,
  chunked = false,
): Promise<{ status: string; written: number }> {
  const { hostname, port } = new URL(url);
  const sock = connect(Number(port), hostname);
  let reply = "";
  sock.on("data", (d) => (reply += String(d)));
  await new Promise<void>((ok, fail) => {
    sock.once("connect", () => ok());
    sock.once("error", fail);
  });
  sock.write(
    `POST ${COLLECTIONS} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n` +
      (chunked ? "transfer-encoding: chunked\r\n" : `content-length: ${declared}\r\n`) +
      (token ? `x-chroma-token: ${token}\r\n` : "") +
      "\r\n",
  );
  const data = Buffer.alloc(64 * 1024, 0x20);
  // Chunked: each write one chunk of the body, no length declared anywhere.
  const chunk = chunked ? Buffer.concat([Buffer.from("10000\r\n"), data, Buffer.from("\r\n")]) : data;
  let written = 0;
  let closed = false;
  sock.on("close", () => (closed = true));
  sock.on("error", () => (closed = true));
  const deadline = Date.now() + 10_000;
  while (!closed && written < declared && Date.now() < deadline) {
    const flushed = sock.write(chunk);
    written += data.length;
    if (!flushed) {
      // the kernel buffers are full: wait for the gateway to read more, or to close
      const drained = await Promise.race([
        new Promise<boolean>((ok) => sock.once("drain", () => ok(true))),
        new Promise<boolean>((ok) => setTimeout(() => ok(false), 1000)),
      ]);
      if (!drained) break;
    }
  }
  sock.destroy();
  return { status: reply.split("\r\n")[0] ?? "", written };
}

test("an unauthenticated 200 MB post is answered 401 and its body is not read", async () => {
  const gw = await startChromaGateway({
    upstream: chroma.upstreamUrl,
    tokenSha256: tokenSha256(chroma.token),
  });
  try {
    const declared = 200 * 1024 * 1024;
    const r = await pushBody(gw.url, declared);
    assert.match(r.status, /^HTTP\/1\.1 401 /);
    // what the kernel's socket buffers hold on loopback, not the body
    assert.ok(r.written < 32 * 1024 * 1024, `the gateway took ${r.written} of ${declared} bytes`);
  } finally {
    await gw.close();
  }
});

test("an authenticated chunked post, which declares no length, is cut once it grows past the limit", async () => {
  const gw = await startChromaGateway({
    upstream: chroma.upstreamUrl,
    tokenSha256: tokenSha256(chroma.token),
    maxBodyBytes: 1024 * 1024,
  });
  try {
    const r = await pushBody(gw.url, 200 * 1024 * 1024, chroma.token, true);
    // Chroma's own limit is 40 MiB: the gateway, not Chroma, stopped it, a few MB in.
    assert.ok(r.written < 16 * 1024 * 1024, `the gateway took ${r.written} bytes`);
  } finally {
    await gw.close();
  }
});

test("an authenticated post declaring more than the limit is answered 413 unread", async () => {
  const gw = await startChromaGateway({
    upstream: chroma.upstreamUrl,
    tokenSha256: tokenSha256(chroma.token),
    maxBodyBytes: 1024 * 1024,
  });
  try {
    const r = await pushBody(gw.url, 200 * 1024 * 1024, chroma.token);
    assert.match(r.status, /^HTTP\/1\.1 413 /);
    assert.ok(r.written < 32 * 1024 * 1024, `the gateway took ${r.written} bytes`);
  } finally {
    await gw.close();
  }
});
