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
