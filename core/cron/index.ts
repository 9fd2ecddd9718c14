/** pg_cron schedules as declared resources: reconcile (reconcile.ts). */
export * from "./reconcile.ts";
