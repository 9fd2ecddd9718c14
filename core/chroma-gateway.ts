/**
 * A token-checking reverse proxy in front of Chroma.
 *
 * Chroma 1.0's Rust server accepts no working token auth (its auth provider is a no-op), so the
 * stack keeps Chroma on the private network with no published port and puts this gateway in
 * front of it. A request must carry the token in `x-chroma-token: <token>` or
 * `Authorization: Bearer <token>`; the gateway compares the SHA-256 of what it received with the
 * SHA-256 it was given, in constant time, and answers 401 otherwise. Only `GET /api/v2/heartbeat`
 * stays open, so healthchecks and uptime probes need no credential (it reveals nothing but a
 * timestamp). Accepted requests stream to the upstream and back unchanged, except that the token
 * headers are stripped before they leave the gateway.
 *
 * A refused request (no token: 401; a declared body over the limit: 413) is answered from its
 * headers alone: the gateway stops reading, answers, closes the connection and destroys the
 * socket, so an unauthenticated client cannot make it read (or hold) a body. Accepted bodies
 * stream through with backpressure, never buffered, and a body that grows past the limit while
 * streaming is cut. This module imports node:http and node:crypto only (its container entry is
 * cli/chroma-gateway-main.ts), so the gateway idles in a few tens of MB.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import {
  Agent as HttpAgent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./log.ts";
import { silentLogger } from "./log.ts";
import { CHROMA_MAX_PAYLOAD_BYTES } from "../settings/chroma.ts";

/** Paths any client may GET without a token. */
export const OPEN_PATHS = new Set(["/api/v2/heartbeat"]);

/** Lowercase hex SHA-256 of a token: what the gateway is configured with (never the token). */
export function tokenSha256(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** The token a request presents, from `x-chroma-token` or `Authorization: Bearer`. */
export function presentedToken(headers: IncomingMessage["headers"]): string | undefined {
  const x = headers["x-chroma-token"];
  if (typeof x === "string" && x.length) return x;
  const auth = headers.authorization;
  const m = typeof auth === "string" ? /^Bearer\s+(.+)$/i.exec(auth.trim()) : null;
  return m?.[1];
}

/** Constant-time check of a presented token against the expected SHA-256 (hex). */
export function tokenAccepted(presented: string | undefined, expectedSha256Hex: string): boolean {
  if (presented === undefined) return false;
  const got = createHash("sha256").update(presented, "utf8").digest();
  const want = Buffer.from(expectedSha256Hex, "hex");
  return want.length === got.length && timingSafeEqual(got, want);
}

export interface GatewayOptions {
  /** Upstream Chroma base URL, e.g. http://chroma:8000. */
  upstream: string;
  /** SHA-256 (hex) of the token clients must present. */
  tokenSha256: string;
  /** Listen address and port (port 0: any free port). */
  host?: string;
  port?: number;
  /** Largest request body accepted, in bytes (default: Chroma's own max_payload_size_bytes). */
  maxBodyBytes?: number;
  log?: Logger;
}

export interface Gateway {
  server: Server;
  /** http://host:port the gateway listens on. */
  url: string;
  close(): Promise<void>;
}

export class GatewayConfigError extends Error {
  readonly code = "JARVIS_CHROMA_GATEWAY_CONFIG";
}

/** Starts the gateway; resolves once it listens. */
export async function startChromaGateway(opts: GatewayOptions): Promise<Gateway> {
  if (!/^[0-9a-f]{64}$/i.test(opts.tokenSha256.trim())) {
    throw new GatewayConfigError(
      "the gateway's token hash is not a SHA-256 hex digest (64 hex characters); write sha256(token) to the token file",
    );
  }
  const expected = opts.tokenSha256.trim().toLowerCase();
  const upstream = new URL(opts.upstream);
  const log = opts.log ?? silentLogger;

  const maxBody = opts.maxBodyBytes ?? CHROMA_MAX_PAYLOAD_BYTES;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const open = (req.method === "GET" || req.method === "HEAD") && OPEN_PATHS.has(path);
    if (!open && !tokenAccepted(presentedToken(req.headers), expected)) {
      log.warn("chroma gateway: refused a request without a valid token", {
        method: req.method,
        path,
        remote: req.socket.remoteAddress,
      });
      return refuse(req, res, 401, {
        error: "Unauthorized",
        message: "send the Chroma token in x-chroma-token or Authorization: Bearer",
      });
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBody) {
      log.warn("chroma gateway: refused a request body over the limit", { path, bytes: declared, maxBody });
      return refuse(req, res, 413, {
        error: "PayloadTooLarge",
        message: `request body of ${declared} bytes is over the gateway's limit of ${maxBody} bytes; send smaller batches`,
      });
    }
    proxy(req, res, upstream, maxBody, log);
  };

  const server = createServer(handle);
  // headers must arrive within 30 s and bodies keep moving: a slow client cannot hold sockets forever
  server.headersTimeout = 30_000;
  server.requestTimeout = 600_000;
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => ok());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/**
 * Answers from the headers alone: stop reading the body, send the answer with `connection:
 * close`, then destroy the socket (after a short grace for the client to read the answer).
 */
function refuse(req: IncomingMessage, res: ServerResponse, status: 401 | 413, body: object): void {
  req.pause();
  const socket = req.socket;
  res.shouldKeepAlive = false;
  res.writeHead(status, {
    "content-type": "application/json",
    connection: "close",
    ...(status === 401 ? { "www-authenticate": 'Bearer realm="chroma"' } : {}),
  });
  res.end(JSON.stringify(body), () => {
    socket.end();
    setTimeout(() => socket.destroy(), 200).unref();
  });
}

/** Streams the request to the upstream and the answer back, with backpressure both ways. */
function proxy(req: IncomingMessage, res: ServerResponse, upstream: URL, maxBody: number, log: Logger): void {
  const headers = { ...req.headers };
  delete headers["x-chroma-token"];
  delete headers.authorization;
  headers.host = upstream.host;
  const out = httpRequest(
    {
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port || 80,
      method: req.method,
      path: req.url,
      headers,
      agent: UPSTREAM_AGENT,
    },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.statusMessage, up.headers);
      up.pipe(res);
    },
  );
  out.on("error", (e) => {
    log.error("chroma gateway: upstream unreachable", { upstream: upstream.origin, error: e.message });
    if (!res.headersSent) {
      res.writeHead(502, { "content-type": "application/json", connection: "close" });
      res.end(
        JSON.stringify({ error: "BadGateway", message: `Chroma upstream ${upstream.origin} is unreachable` }),
      );
    } else res.destroy(e);
  });
  res.on("close", () => {
    if (!res.writableFinished) out.destroy();
  });
  let seen = 0;
  req.on("data", (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > maxBody) {
      // a chunked body that grew past the limit: cut both sides
      log.warn("chroma gateway: cut a streamed body over the limit", { maxBody });
      out.destroy();
      req.socket.destroy();
    }
  });
  req.pipe(out);
}

/** Upstream connections are kept alive and bounded, so a burst of clients opens few sockets to Chroma. */
const UPSTREAM_AGENT = new HttpAgent({ keepAlive: true, maxSockets: 64 });
