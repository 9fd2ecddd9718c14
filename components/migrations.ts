import * as pulumi from "@pulumi/pulumi";
import { databaseUrl, opsJob, type DatabaseJobArgs, type OpsJobArgs } from "./ops-job.ts";

/**
 * The job connects as a superuser (the lock, the history, restore points and the few superuser
 * files) and as the owner role, logged in as it, for every other file (core/migrate/sessions.ts):
 * no superuser session runs a trigger or function the owner could have planted.
 */
export interface SchemaMigrationsArgs extends DatabaseJobArgs {
  /** The owner role's password (secret): reaches the job only inside a file, like the superuser's. */
  ownerPassword: pulumi.Input<string>;
  /** The owner role (default jarvis_owner). */
  ownerUser?: string;
  /** `file@sha256` of every migration, in order (core/migrate migrationManifest). */
  migrations: string[];
  /** One hash of the whole set, up and down files (core/migrate manifestHash). */
  manifestHash: string;
  /** Record pg_create_restore_point('jarvis-pre-migrate-NNNN') before applying (prod). */
  restorePoint: boolean;
  /** Seconds to wait for another runner's migration lock. */
  lockWaitSeconds?: number;
}

/** Where the job finds its connection URL. */
export const MIGRATIONS_URL_FILE = "/run/secrets/database_url";
/** Where it finds the owner's connection URL (JARVIS_MIGRATE_OWNER_URL_FILE). */
export const MIGRATIONS_OWNER_URL_FILE = "/run/secrets/owner_url";

/**
 * The schema migrations of one environment, as a resource: a one-shot container of the ops
 * image on the private network running `jarvis-data migrate apply` (prod publishes no database
 * port, so the workstation running `pulumi up` could not reach the server itself).
 *
 * Its inputs hold the ordered `file@sha256` list (env JARVIS_MIGRATIONS, label
 * jarvis.migrations) and its name the set's hash: they change exactly when a migration file
 * changes, so a PR preview shows the job being replaced with the list of files, and `up` runs it.
 * The job refuses to run if the image's files hash differently (--expect).
 */
export class SchemaMigrations extends pulumi.ComponentResource {
  /** The migration files the job applies, in order (file@sha256). */
  public readonly files: string[];
  public readonly manifestHash: string;
  /** "applied" once the job exited 0; the update fails otherwise. */
  public readonly status: pulumi.Output<string>;

  constructor(name: string, args: SchemaMigrationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jarvis:database:SchemaMigrations", name, {}, opts);
    if (args.migrations.length === 0)
      throw new Error("SchemaMigrations: no migration files; sql/migrations must hold NNNN_name.sql files");
    this.files = args.migrations;
    this.manifestHash = args.manifestHash;
    this.status = opsJob(`${name}-job`, args.runner, migrationJob(name, args), {
      parent: this,
      // The component's dependsOn, on the job itself: it runs only after them (roles), as a preview shows.
      dependsOn: opts?.dependsOn,
    }).status;
    this.registerOutputs({ files: this.files, manifestHash: this.manifestHash, status: this.status });
  }
}

/** The job's command line, files and labels. */
function migrationJob(name: string, args: SchemaMigrationsArgs): OpsJobArgs {
  const list = args.migrations.join(",");
  return {
    service: "migrations",
    containerName: `${name}-${args.manifestHash.slice(0, 12)}`,
    args: [
      "migrate",
      "apply",
      "--json",
      "--expect",
      args.manifestHash,
      "--lock-wait",
      String(args.lockWaitSeconds ?? 300),
      ...(args.restorePoint ? ["--restore-point"] : []),
    ],
    envs: [
      `JARVIS_DATABASE_URL_FILE=${MIGRATIONS_URL_FILE}`,
      `JARVIS_MIGRATE_OWNER_URL_FILE=${MIGRATIONS_OWNER_URL_FILE}`,
      `JARVIS_MIGRATIONS=${list}`,
    ],
    files: [
      { file: MIGRATIONS_URL_FILE, content: urlOf(args, args.user ?? "postgres", args.password) },
      {
        file: MIGRATIONS_OWNER_URL_FILE,
        content: urlOf(args, args.ownerUser ?? "jarvis_owner", args.ownerPassword),
      },
    ],
    labels: [
      { label: "jarvis.migrations", value: list },
      { label: "jarvis.migrations.sha256", value: args.manifestHash },
    ],
    what: "the migration job",
  };
}

function urlOf(
  args: SchemaMigrationsArgs,
  user: string,
  password: pulumi.Input<string>,
): pulumi.Output<string> {
  return databaseUrl(user, password, args.dbHost, args.dbPort ?? 5432, args.database);
}
