/** The migration resource in the offline render (Pulumi's mock runtime, in a child process). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderStack } from "../support/render.ts";
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
    const jobs = resources.filter(
      (r) => r.type === "docker:index/container:Container" && r.parent === component.name,
    );
    assert.equal(jobs.length, 1);
    const job = jobs[0]!.inputs;
    assert.equal(job.name, `jarvis-${stack}-migrations-${hash.slice(0, 12)}`);
    assert.ok(job.envs.includes(`JARVIS_MIGRATIONS=${manifest.join(",")}`), JSON.stringify(job.envs));
    assert.ok(manifest.every((m) => /^\d{4}_[a-z0-9_]+\.sql@[0-9a-f]{64}$/.test(m)));
    assert.deepEqual(
      manifest.map((m) => m.split("@")[0]),
      migrations.map((m) => m.up.file),
    );
    assert.deepEqual(
      job.labels.find((l: { label: string }) => l.label === "jarvis.migrations")?.value,
      manifest.join(","),
    );
    assert.equal(job.mustRun, false);
    assert.equal(job.attach, true);
    assert.equal(job.logs, true);
    assert.equal(job.restart, "no");
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
    // The connection (with its password) is only inside the uploaded file, redacted as a secret.
    assert.equal(job.uploads, "[secret]");
    assert.ok(!JSON.stringify(job.envs).includes("postgresql://"), "no URL in the environment");
    assert.ok(
      job.networksAdvanced.length === 1 && !job.ports?.length,
      "on the private network, nothing published",
    );
    const image = resources.find(
      (r) =>
        r.type === "docker:index/image:Image" &&
        r.inputs.build?.dockerfile?.endsWith("docker/ops/Dockerfile"),
    );
    assert.ok(image, "the ops image is built from docker/ops/Dockerfile");
    assert.equal(job.image, image.inputs.imageName);
  });
}
