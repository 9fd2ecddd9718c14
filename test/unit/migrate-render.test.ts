/** The migration resource in the offline render (Pulumi's mock runtime, in a child process). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { jobRun, renderStack } from "../support/render.ts";
import { MIGRATIONS_OWNER_URL_FILE } from "../../components/migrations.ts";
import { loadMigrations, manifestHash, migrationManifest } from "../../core/migrate/index.ts";

const render = (stack: string) => renderStack(stack);

const migrations = loadMigrations();
const manifest = migrationManifest(migrations);
const hash = manifestHash(migrations);

for (const stack of ["dev", "prod"] as const) {
  test(`${stack}: the migration job lists every migration file with its checksum, and is named by the set's hash`, async () => {
    const resources = await render(stack);
    const component = resources.find((r) => r.type === "jarvis:database:SchemaMigrations");
    assert.ok(component, "the SchemaMigrations component is rendered");
    const jobs = resources.filter((r) => r.type === "command:local:Command" && r.parent === component.name);
    assert.equal(jobs.length, 1);
    const job = jobRun(jobs[0]!);
    assert.equal(job.values("--name")[0], `jarvis-${stack}-migrations-${hash.slice(0, 12)}`);
    assert.ok(job.envs.includes(`JARVIS_MIGRATIONS=${manifest.join(",")}`), JSON.stringify(job.envs));
    assert.ok(manifest.every((m) => /^\d{4}_[a-z0-9_]+\.sql@[0-9a-f]{64}$/.test(m)));
    assert.deepEqual(
      manifest.map((m) => m.split("@")[0]),
      migrations.map((m) => m.up.file),
    );
    assert.equal(job.labels["jarvis.migrations"], manifest.join(","));
    // A one-shot `docker run --rm`: nothing left behind to be recorded as done.
    assert.deepEqual(job.argv.slice(0, 4), ["docker", "run", "--rm", "--interactive"]);
    assert.deepEqual(job.values("--restart"), ["no"]);
    assert.deepEqual(job.command.slice(0, 6), [
      "jarvis-data",
      "migrate",
      "apply",
      "--json",
      "--expect",
      hash,
    ]);
    assert.equal(
      job.command.includes("--restore-point"),
      stack === "prod",
      "a restore point before migrating in prod only",
    );
    assert.ok(job.envs.includes(`JARVIS_ENVIRONMENT=${stack}`));
    assert.ok(job.envs.includes("JARVIS_DATABASE_URL_FILE=/run/secrets/database_url"));
    // The connection (with its password) is only inside the files on stdin, redacted as a secret.
    assert.equal(jobs[0]!.inputs.stdin, "[secret]");
    assert.deepEqual(job.values("--tmpfs"), ["/run/secrets:rw,noexec,nosuid,size=1m"]);
    assert.ok(!jobs[0]!.inputs.create.includes("postgresql://"), "no URL on the command line");
    assert.equal(job.values("--network").length, 1);
    assert.ok(!job.argv.includes("--publish"), "on the private network, nothing published");
    const image = resources.find(
      (r) =>
        r.type === "docker:index/image:Image" &&
        r.inputs.build?.dockerfile?.endsWith("docker/ops/Dockerfile"),
    );
    assert.ok(image, "the ops image is built from docker/ops/Dockerfile");
    assert.equal(job.image, image.inputs.imageName);
    assert.ok(jobs[0]!.inputs.triggers[0].match(/^[0-9a-f]{64}$/), "triggers: the hash of the job's inputs");
  });
}

for (const stack of ["dev", "prod"] as const) {
  test(`${stack}: the migration job gets the owner's connection as a secret file, never in clear`, async () => {
    const resources = await render(stack);
    const component = resources.find((r) => r.type === "jarvis:database:SchemaMigrations")!;
    const job = resources.find((r) => r.type === "command:local:Command" && r.parent === component.name)!;
    const run = jobRun(job);
    // The non-superuser files run logged in as jarvis_owner (core/migrate/sessions.ts): the CLI
    // reads JARVIS_MIGRATE_OWNER_URL_FILE, a file on the secrets tmpfs written from the secret stdin.
    assert.ok(
      run.envs.includes(`JARVIS_MIGRATE_OWNER_URL_FILE=${MIGRATIONS_OWNER_URL_FILE}`),
      JSON.stringify(run.envs),
    );
    assert.ok(MIGRATIONS_OWNER_URL_FILE.startsWith("/run/secrets/"));
    assert.ok(!run.envs.some((e) => e.startsWith("JARVIS_MIGRATE_OWNER_URL=")), "no URL in the environment");
    assert.equal(job.inputs.stdin, "[secret]");
    const clear = JSON.stringify({
      create: job.inputs.create,
      triggers: job.inputs.triggers,
      env: job.inputs.environment,
    });
    assert.ok(!/postgresql:\/\/|jarvis_owner:/.test(clear), "no connection URL in the job's clear inputs");
  });
}
