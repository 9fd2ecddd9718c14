import assert from "node:assert/strict";
import { test } from "node:test";
import { SECRET_NAMES } from "../../config/schema.ts";
import { renderRaw, renderStack, SENTINELS, withSecrets } from "../support/render.ts";
import { RenderPool } from "../support/render-pool.ts";

for (const stack of ["dev", "prod"] as const) {
  test(`render ${stack} prints one JSON array of {type, name, parent, inputs, options}`, async () => {
    const resources = await renderStack(stack);
    assert.ok(Array.isArray(resources) && resources.length > 0);
    for (const r of resources) {
      assert.deepEqual(Object.keys(r).sort(), ["inputs", "name", "options", "parent", "type"]);
      assert.equal(typeof r.type, "string");
      assert.equal(typeof r.options, "object");
    }
    const names = new Set(resources.map((r) => r.name));
    for (const r of resources)
      if (r.parent) assert.ok(names.has(r.parent), `${r.name}'s parent ${r.parent} is rendered`);
    assert.ok(resources.some((r) => r.type === "pulumi:providers:docker"));
    const docker = resources.find((r) => r.type === "pulumi:providers:docker")!;
    // dev: no fixed host, so DOCKER_HOST or the CLI context decides (Desktop, Colima, rootless...).
    if (stack === "prod") assert.match(docker.inputs.host, /^ssh:\/\//);
    else assert.equal(docker.inputs.host, undefined, "the dev Docker host is not fixed");
  });

  test(`render ${stack} prints each resource's options beside its inputs`, async () => {
    const resources = await renderStack(stack);
    const byName = (type: string, name: string) => resources.find((r) => r.type === type && r.name === name)!;
    const volume = byName("docker:index/volume:Volume", `jarvis-${stack}-postgres-data`);
    assert.deepEqual(volume.options, {
      retainOnDelete: true,
      ...(stack === "prod" ? { protect: true } : {}),
    });
    const pg = byName("docker:index/container:Container", `jarvis-${stack}-postgres`);
    assert.deepEqual(pg.options.ignoreChanges, ["logDriver", "logOpts"]);
    const cron = byName("command:local:Command", `jarvis-${stack}-cron-job`);
    assert.deepEqual(cron.options.dependsOn, [`jarvis-${stack}-migrations-job`]);
    assert.deepEqual(cron.options.replaceOnChanges, ["triggers[*]"]);
    const network = byName("docker:index/network:Network", `jarvis-${stack}-net`);
    assert.deepEqual(network.options, {}, "a resource with no option shows {}");
  });

  test(`no secret value appears in the ${stack} render or in its non-secret outputs`, async () => {
    const file = withSecrets(stack);
    const r = await renderRaw([stack, "--config", file]);
    assert.equal(r.code, 0, r.stderr);
    const o = await renderRaw([stack, "--config", file, "--outputs"]);
    assert.equal(o.code, 0, o.stderr);
    for (const text of [r.stdout, o.stdout, r.stderr, o.stderr]) {
      for (const value of Object.values(SENTINELS))
        assert.ok(!text.includes(value), `a secret leaked: ${value.split("-")[1]}`);
      assert.ok(!text.includes("mock-generated-"), "a generated password leaked");
    }
    assert.ok(r.stdout.includes('"[secret]"'), "secrets are rendered as [secret]");
    assert.ok(Object.keys(JSON.parse(o.stdout)).length > 0, "the stack has outputs");
  });
}

test("generated passwords stay secret too (no jarvis:secrets given)", async () => {
  const r = await renderRaw(["dev"]);
  assert.equal(r.code, 0, r.stderr);
  const resources = JSON.parse(r.stdout);
  const generated = resources.filter((x: any) => x.type === "random:index/randomPassword:RandomPassword");
  assert.ok(generated.length >= SECRET_NAMES.length);
  assert.ok(!r.stdout.includes("mock-generated-"));
});

test("render refuses a missing stack file with a clear message", async () => {
  const r = await renderRaw(["staging"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no config file .*Pulumi\.staging\.yaml/);
});

test("renders in one process do not leak into each other: dev after prod is dev rendered first", async () => {
  // A worker renders many stacks (scripts/render-lib.ts imports a fresh index.ts each time); a
  // module holding state between runs would make a render depend on the ones before it.
  const pool = new RenderPool(1, true);
  try {
    const first = await pool.render(["dev", "--both"]);
    const between = await pool.render(["prod", "--both"]);
    const again = await pool.render(["dev", "--both"]);
    for (const r of [first, between, again]) assert.equal(r.code, 0, r.stderr);
    assert.notEqual(between.stdout, first.stdout);
    assert.equal(again.stdout, first.stdout);
  } finally {
    pool.close();
  }
});
