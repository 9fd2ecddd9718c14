/** What retention keeps, per store, taken from config once (config/schema.ts `retention`, `redis`). */
import type { JarvisConfig } from "../../config/schema.ts";

export interface CategoryRule {
  /** Entries older than this many days are expired... */
  days: number;
  /** ...and deleted when their importance is below this. */
  importanceThreshold: number;
}

export interface RetentionPolicy {
  /** A15: memory categories (PostgreSQL memory_entries and Chroma records alike). */
  categories: Record<string, CategoryRule>;
  /** A14: conversations and messages. */
  conversations: CategoryRule;
  auditLogDays: number;
  memoryBatchSize: number;
  /** A13: keys matching it get a TTL when they have none. */
  tempKeyPattern: string;
  tempKeyTtlSeconds: number;
}

export function retentionPolicy(cfg: JarvisConfig): RetentionPolicy {
  const r = cfg.retention;
  return {
    categories: { ...r.memory.categories },
    conversations: { days: r.conversations.days, importanceThreshold: r.conversations.importanceThreshold },
    auditLogDays: r.auditLog.days,
    memoryBatchSize: r.memory.batchSize,
    tempKeyPattern: cfg.redis.tempKeyPattern,
    tempKeyTtlSeconds: cfg.redis.tempKeyTtlSeconds,
  };
}
