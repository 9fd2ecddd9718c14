/**
 * The config's cross-field rules (config/schema.ts runs them after the per-key checks): each
 * problem names its key and what is allowed, in the same words as the per-key ones.
 */
import type { JarvisConfig } from "./schema.ts";

/** Reports one problem at a key path. */
export type Report = (path: (string | number)[], message: string) => void;

export function crossFieldRules(c: JarvisConfig, at: Report): void {
  hostRules(c, at);
  resourceRules(c, at);
  backupRules(c, at);
  alertingRules(c, at);
}

/** Where the stack runs: loopback ports, a remote Docker host and AWS in prod, the dev store in dev. */
function hostRules(c: JarvisConfig, at: Report): void {
  const loopback = /^(127\.|::1$)/.test(c.ports.bindAddress);
  if (!loopback && !c.ports.exposeBeyondLoopback) {
    at(
      ["ports", "bindAddress"],
      `${c.ports.bindAddress} is not loopback; use 127.0.0.1, or set jarvis:ports.exposeBeyondLoopback: true to mean it`,
    );
  }
  if (c.environment === "prod") {
    if (!c.docker.host?.startsWith("ssh://"))
      at(["docker", "host"], "prod runs on a remote Docker host: must be ssh://user@host");
    if (c.backup.storage.provider !== "aws")
      at(["backup", "storage", "provider"], "prod stores backups on AWS S3: must be aws");
  }
  if (c.environment === "dev" && c.backup.storage.provider === "aws") {
    at(
      ["backup", "storage", "provider"],
      "dev stores backups on the stack's own S3-compatible container: must be rustfs (default) or minio",
    );
  }
}

/** Container limits that leave the servers room. */
function resourceRules(c: JarvisConfig, at: Report): void {
  if (c.redis.memoryMb < c.redis.maxmemoryMb + 64) {
    at(
      ["redis", "memoryMb"],
      `container limit ${c.redis.memoryMb} MB leaves no room above maxmemory ${c.redis.maxmemoryMb} MB for fork and buffers; allowed: >= ${c.redis.maxmemoryMb + 64}`,
    );
  }
  if (c.postgres.sharedBuffersMb * 2 > c.postgres.memoryMb) {
    at(
      ["postgres", "sharedBuffersMb"],
      `${c.postgres.sharedBuffersMb} MB is more than half the container's ${c.postgres.memoryMb} MB; allowed: <= ${Math.floor(c.postgres.memoryMb / 2)}`,
    );
  }
}

/** Retention tiers in order, transitions before expirations, object lock within them and on AWS. */
function backupRules(c: JarvisConfig, at: Report): void {
  let shortest = Infinity;
  for (const [name, t] of Object.entries(c.backup.retention)) {
    if (typeof t === "number") continue;
    shortest = Math.min(shortest, t.days);
    const ia = t.infrequentAccessAfterDays;
    const gl = t.glacierAfterDays;
    if (ia !== null && ia >= t.days) {
      at(
        ["backup", "retention", name, "infrequentAccessAfterDays"],
        `transition at day ${ia} is not before expiration at day ${t.days}; allowed: < ${t.days}`,
      );
    }
    if (gl !== null && gl >= t.days) {
      at(
        ["backup", "retention", name, "glacierAfterDays"],
        `transition at day ${gl} is not before expiration at day ${t.days}; allowed: < ${t.days}`,
      );
    }
    if (ia !== null && gl !== null && gl <= ia) {
      at(
        ["backup", "retention", name, "glacierAfterDays"],
        `day ${gl} is not after the STANDARD_IA transition at day ${ia}; allowed: > ${ia}`,
      );
    }
  }
  if (c.backup.retention.weekly.days < c.backup.retention.daily.days) {
    at(
      ["backup", "retention", "weekly", "days"],
      `weekly fulls (${c.backup.retention.weekly.days} d) must outlive the dailies that depend on them (${c.backup.retention.daily.days} d)`,
    );
  }
  if (c.backup.objectLock.enabled && c.backup.objectLock.days > shortest) {
    at(
      ["backup", "objectLock", "days"],
      `a lock of ${c.backup.objectLock.days} days outlasts the shortest expiration in the bucket (${shortest} days), so lifecycle deletes would fail; allowed: <= ${shortest}`,
    );
  }
  if (c.backup.objectLockAtCreation && c.backup.storage.provider !== "aws") {
    at(
      ["backup", "objectLockAtCreation"],
      "object lock needs AWS S3 (provider aws); the dev S3 container cannot enforce it",
    );
  }
  if (c.backup.objectLock.enabled && c.backup.storage.provider !== "aws") {
    at(
      ["backup", "objectLock", "enabled"],
      "object lock needs AWS S3 (provider aws); the dev S3 container cannot enforce it",
    );
  }
}

/** Alert receivers have their credentials. */
function alertingRules(c: JarvisConfig, at: Report): void {
  if (c.monitoring.alerting.email && !c.secrets.alertSmtpPassword) {
    at(
      ["secrets", "alertSmtpPassword"],
      "e-mail alerting is configured but the SMTP password is missing: pulumi config set --secret --path 'jarvis:secrets.alertSmtpPassword' ...",
    );
  }
  if (c.monitoring.alerting.webhook && !c.secrets.alertWebhookUrl) {
    at(
      ["secrets", "alertWebhookUrl"],
      "webhook alerting is on but the URL is missing: pulumi config set --secret --path 'jarvis:secrets.alertWebhookUrl' https://...",
    );
  }
}
