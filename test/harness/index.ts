/**
 * Shared access to the throwaway servers. `npm test` (test/harness/run.ts) starts one of each
 * and hands them to every test file through JARVIS_TEST_SERVICES; a test file run on its own
 * starts what it needs and stops it when it is done.
 */
import { after } from "node:test";
import {
  startChroma,
  startPostgres,
  startRedis,
  startS3,
  type ChromaServer,
  type PostgresServer,
  type RedisServer,
  type S3Server,
} from "./servers.ts";

export * from "./servers.ts";
export * from "./buckets.ts";

export interface Services {
  postgres: PostgresServer;
  redis: RedisServer;
  chroma: ChromaServer;
  s3: S3Server;
}
type Kind = keyof Services;

const ENV = "JARVIS_TEST_SERVICES";

/** What crosses the process boundary: everything but the functions. */
export function describeServices(s: Partial<Services>): string {
  return JSON.stringify(s, (_k, v) => (typeof v === "function" ? undefined : v));
}

function revive(shared: any): Partial<Services> {
  const out: Partial<Services> = {};
  const noStop = async () => {};
  if (shared.postgres) {
    const p = shared.postgres;
    out.postgres = {
      ...p,
      url: (db = "postgres", user = "postgres", pass = p.password) =>
        `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${p.port}/${db}`,
      stop: noStop,
    };
  }
  if (shared.redis) {
    const r = shared.redis;
    out.redis = {
      ...r,
      url: (u: string = "admin") => `redis://${u}:${encodeURIComponent(r.passwords[u])}@127.0.0.1:${r.port}`,
      stop: noStop,
    };
  }
  if (shared.chroma) out.chroma = { ...shared.chroma, stop: noStop };
  if (shared.s3) out.s3 = { ...shared.s3, stop: noStop };
  return out;
}

export async function startServices<K extends Kind>(kinds: readonly K[]): Promise<Pick<Services, K>> {
  const started: Partial<Services> = {};
  try {
    await Promise.all(
      kinds.map(async (k) => {
        if (k === "postgres") started.postgres = await startPostgres();
        if (k === "redis") started.redis = await startRedis();
        if (k === "chroma") started.chroma = await startChroma();
        if (k === "s3") started.s3 = await startS3();
      }),
    );
  } catch (e) {
    await stopServices(started);
    throw e;
  }
  return started as Pick<Services, K>;
}

export async function stopServices(s: Partial<Services>): Promise<void> {
  await Promise.allSettled(Object.values(s).map((x) => x.stop()));
}

/**
 * The servers a test file needs. Shared ones when the suite runs under `npm test`; otherwise
 * started here and stopped after the file's tests, even when they fail.
 */
export async function useServices<K extends Kind>(...kinds: K[]): Promise<Pick<Services, K>> {
  const shared = process.env[ENV] ? revive(JSON.parse(process.env[ENV]!)) : {};
  const missing = kinds.filter((k) => !shared[k]);
  const own = await startServices(missing);
  after(() => stopServices(own));
  return { ...shared, ...own } as Pick<Services, K>;
}

export { ENV as SERVICES_ENV };
