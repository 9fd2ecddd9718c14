/**
 * The stack's data stores, named once: monitoring probes them, backups cover them (with the
 * stack's logs beside them), and the retention tiers of the backup vault are keyed by them.
 */
export const STORES = ["postgres", "redis", "chroma"] as const;
export type StoreName = (typeof STORES)[number];

/** What the backup commands cover: the stores and the stack's logs (A6: 7 days, weekly). */
export const BACKUP_SOURCES = [...STORES, "logs"] as const;
export type BackupSource = (typeof BACKUP_SOURCES)[number];
