/**
 * Connection settings, from the usual environment variables. This is the only place below
 * bin/ that reads the environment; everything in core/ takes explicit inputs.
 */
import { UsageError } from "../core/errors.ts";

export interface Connections {
  /** DATABASE_URL, or one built from PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE. */
  databaseUrl?: string;
  redisUrl?: string;
  chromaUrl?: string;
  chromaToken?: string;
  s3: {
    endpoint?: string;
    bucket?: string;
    region: string;
    accessKeyId?: string;
    secretAccessKey?: string;
  };
}

export function connectionsFromEnv(env: NodeJS.ProcessEnv = process.env): Connections {
  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl && (env.PGHOST || env.PGDATABASE || env.PGUSER)) {
    const u = new URL("postgresql://localhost");
    u.hostname = env.PGHOST ?? "localhost";
    u.port = env.PGPORT ?? "5432";
    u.username = env.PGUSER ?? "postgres";
    if (env.PGPASSWORD) u.password = env.PGPASSWORD;
    u.pathname = `/${env.PGDATABASE ?? "jarvis"}`;
    databaseUrl = u.toString();
  }
  return {
    databaseUrl,
    redisUrl: env.REDIS_URL,
    chromaUrl: env.CHROMA_URL,
    chromaToken: env.CHROMA_TOKEN,
    s3: {
      endpoint: env.JARVIS_S3_ENDPOINT,
      bucket: env.JARVIS_BACKUP_BUCKET,
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    },
  };
}

/** The value, or a usage error naming the variable to set. */
export function need<T>(value: T | undefined, variable: string, example: string): T {
  if (value === undefined || value === "") throw new UsageError(`${variable} is not set; set it, e.g. ${variable}=${example}`);
  return value;
}
