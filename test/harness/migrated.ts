/** A throwaway database with every migration applied, and a client as the application's role on it. */
import pg from "pg";
import { apply } from "../../core/migrate/index.ts";
import { createDatabase, type PostgresServer } from "./servers.ts";

/**
 * Creates a database named after PREFIX, migrates it as the superuser `su`, connects `app` as
 * jarvis_app, runs FN, then closes both and drops the database (even when FN throws).
 */
export async function withMigratedDb(
  postgres: PostgresServer,
  prefix: string,
  fn: (su: pg.Client, app: pg.Client) => Promise<void>,
): Promise<void> {
  const db = await createDatabase(postgres, prefix);
  const su = new pg.Client({ connectionString: db.url });
  const app = new pg.Client({ connectionString: postgres.url(db.name, "jarvis_app", postgres.roles.app) });
  await su.connect();
  try {
    await apply(su);
    await app.connect();
    await fn(su, app);
  } finally {
    await app.end().catch(() => {});
    await su.end();
    await db.drop();
  }
}
