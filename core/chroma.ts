/** Chroma client construction shared by backups, retention, status and the tests. */
import { ChromaClient, type EmbeddingFunction } from "chromadb";

/**
 * JARVIS computes its 384-d embeddings itself; the data tools only move vectors around and must
 * never embed. This function makes any accidental embedding call fail loudly.
 */
export const precomputedEmbeddings: EmbeddingFunction = {
  name: "jarvis-precomputed",
  async generate(): Promise<number[][]> {
    throw new Error("jarvis-data never computes embeddings: pass `embeddings` explicitly");
  },
};

/** A client for `url` (http[s]://host:port), sending the gateway token when there is one. */
export function chromaClient(url: string, token?: string): ChromaClient {
  const u = new URL(url);
  return new ChromaClient({
    host: u.hostname,
    port: Number(u.port || (u.protocol === "https:" ? 443 : 80)),
    ssl: u.protocol === "https:",
    ...(token ? { headers: { "x-chroma-token": token } } : {}),
  });
}
