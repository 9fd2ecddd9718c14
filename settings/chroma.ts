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

export function chromaConfig(opts: ChromaSettingsOptions = {}): Record<string, unknown> {
  return {
    port: opts.port ?? 8000,
    listen_address: opts.listenAddress ?? "0.0.0.0",
    persist_path: opts.persistPath ?? "/data",
    allow_reset: false,
    max_payload_size_bytes: 41943040,
  };
}

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
    `exec 3<>/dev/tcp/${host}/${port} && printf 'GET /api/v2/heartbeat HTTP/1.0\\r\\nHost: ${host}\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '`,
  ];
}

/** Where the token gateway listens inside its container, and the file holding sha256(token). */
export const CHROMA_GATEWAY_PORT = 8000;
export const CHROMA_GATEWAY_TOKEN_SHA256_FILE = "/run/secrets/chroma_token_sha256";
