/**
 * Chroma 1.0 server config, generated once. The container mounts this file as /config.yaml and
 * the test harness starts `chroma run <file>` with it.
 */
export interface ChromaSettingsOptions {
  listenAddress?: string;
  port?: number;
  /** Where data persists. The 1.x image persists under /data; the old /chroma/chroma path loses data. */
  persistPath?: string;
}

/** Chroma's max_payload_size_bytes (40 MiB); the gateway refuses larger bodies before reading them. */
export const CHROMA_MAX_PAYLOAD_BYTES = 41943040;

export function chromaConfig(opts: ChromaSettingsOptions = {}): Record<string, unknown> {
  return {
    port: opts.port ?? 8000,
    listen_address: opts.listenAddress ?? "0.0.0.0",
    persist_path: opts.persistPath ?? "/data",
    allow_reset: false,
    max_payload_size_bytes: CHROMA_MAX_PAYLOAD_BYTES,
  };
}

/**
 * Chroma's environment, for the container and the test harness alike: telemetry off (the Python
 * client's ANONYMIZED_TELEMETRY, and CHROMA_TELEMETRY for the server).
 */
export const CHROMA_ENV: Record<string, string> = {
  CHROMA_TELEMETRY: "false",
  ANONYMIZED_TELEMETRY: "false",
};

/** Chroma's liveness path: the container's healthcheck, the gateway's and the harness's probes. */
export const CHROMA_HEARTBEAT_PATH = "/api/v2/heartbeat";

/** Where the image reads its config (its CMD is `run /config.yaml`). */
export const CHROMA_CONFIG_PATH = "/config.yaml";
/** Where the 1.x image persists (chromaConfig's persist_path); the volume is mounted here. */
export const CHROMA_DATA_DIR = "/data";

/**
 * The container's healthcheck. The 1.0 image has bash but no curl, wget or python, so the probe
 * speaks HTTP over bash's /dev/tcp and wants a 200 from /api/v2/heartbeat.
 */
export function chromaHealthcheck(opts: { port?: number; host?: string } = {}): string[] {
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? 8000;
  return [
    "CMD",
    "bash",
    "-c",
    `exec 3<>/dev/tcp/${host}/${port} && printf 'GET ${CHROMA_HEARTBEAT_PATH} HTTP/1.0\\r\\nHost: ${host}\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '`,
  ];
}

/** Where the token gateway listens inside its container, and the file holding sha256(token). */
export const CHROMA_GATEWAY_PORT = 8000;
export const CHROMA_GATEWAY_TOKEN_SHA256_FILE = "/run/secrets/chroma_token_sha256";

/**
 * The gateway's V8 heap cap (MB). It streams bodies with backpressure, so its heap holds socket
 * buffers, not payloads.
 */
export const CHROMA_GATEWAY_HEAP_MB = 64;

/**
 * What the gateway's process tree may use under load (MB). Measured by test/gateway-load.test.ts
 * (2 cores, Node 20, VmRSS of the process and its children, which the test asserts stays under
 * this): its own entry under tsx idles at about 72 MB and peaks at 110-130 MB with 20 concurrent
 * 5 MB posts. The whole CLI, which the container used to run, idled at 222 MB and peaked at 245 MB,
 * above the former 128 MB limit: hence the OOM kills.
 */
export const CHROMA_GATEWAY_RSS_BUDGET_MB = 160;
/** The container's healthcheck starts a second node (`node -e fetch(...)`: 53 MB max RSS) in the same cgroup. */
export const CHROMA_GATEWAY_HEALTHCHECK_MB = 64;

/** The gateway container's memory limit (MB): the budget, the healthcheck's node, and 32 MB of slack. */
export function chromaGatewayMemoryMb(): number {
  return CHROMA_GATEWAY_RSS_BUDGET_MB + CHROMA_GATEWAY_HEALTHCHECK_MB + 32;
}

/**
 * The gateway container's command: its own small entry (cli/chroma-gateway-main.ts) under tsx,
 * with the heap capped, so it never loads the whole CLI.
 */
export function chromaGatewayCommand(o: {
  upstream: string;
  listen: string;
  tokenSha256File: string;
  /** Where the repository sits in the image (the ops image's WORKDIR). */
  appDir?: string;
}): string[] {
  return [
    "node",
    `--max-old-space-size=${CHROMA_GATEWAY_HEAP_MB}`,
    "--import",
    "tsx",
    `${o.appDir ?? "/app"}/cli/chroma-gateway-main.ts`,
    "--upstream",
    o.upstream,
    "--listen",
    o.listen,
    "--token-sha256-file",
    o.tokenSha256File,
  ];
}
