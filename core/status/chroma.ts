/** Chroma: up (heartbeat) and, with the token, the number of collections (A22 vector store size). */
import { redactText } from "../log.ts";

export type ChromaStatus = { up: true; collections: number | null } | { up: false; error: string };

export async function chromaStatus(
  url: string,
  opts: { token?: string; timeoutMs?: number } = {},
): Promise<ChromaStatus> {
  const base = url.replace(/\/$/, "");
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 5000);
  try {
    const hb = await fetch(`${base}/api/v2/heartbeat`, { signal });
    if (!hb.ok) return { up: false, error: `heartbeat answered HTTP ${hb.status}` };
    let collections: number | null = null;
    const headers = opts.token ? { "x-chroma-token": opts.token } : undefined;
    const c = await fetch(
      `${base}/api/v2/tenants/default_tenant/databases/default_database/collections_count`,
      { signal, headers },
    ).catch(() => null);
    if (c?.ok) {
      const n = Number(await c.text());
      collections = Number.isFinite(n) ? n : null;
    }
    return { up: true, collections };
  } catch (e) {
    const err = e as Error & { cause?: Error };
    return { up: false, error: redactText(err.cause?.message ?? err.message) };
  }
}
