/**
 * The three stores as rendered by the real program (Pulumi's mock runtime, scripts/render.ts in a
 * child process): network, containers, healthchecks, volumes, restart policy, ports and secrets.
 */
import assert from "node:assert/strict";
import { renderRaw, SENTINELS, withSecrets } from "../support/render.ts";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import YAML from "yaml";
import { decodeConfigMap } from "../../config/pulumi.ts";
import { parseConfig } from "../../config/schema.ts";
import { readStackFile } from "../../config/stackfile.ts";
import { postgresArgs, postgresSettings } from "../../settings/postgres.ts";

const ROOT = resolve(import.meta.dirname, "../..");

interface Resource {
  type: string;
  name: string;
  parent: string | null;
  inputs: Record<string, any>;
}
const CONTAINER = "docker:index/container:Container";

async function render(
  stack: string,
  configFile?: string,
  outputs = false,
): Promise<{ text: string; json: any }> {
  const args = [stack, ...(configFile ? ["--config", configFile] : []), ...(outputs ? ["--outputs"] : [])];
  const r = await renderRaw(args);
  if (r.code !== 0) throw new Error(`render ${args.join(" ")} exited ${r.code}:\n${r.stderr}`);
  return { text: r.stdout, json: JSON.parse(r.stdout) };
}

// withSecrets: a stack file like Pulumi.<stack>.yaml that also provides every secret, in clear
// (SENTINELS), to prove none leaks.
const [dev, prod, devProvided, prodProvided, prodProvidedOutputs] = await Promise.all([
  render("dev"),
  render("prod"),
  render("dev", withSecrets("dev")),
  render("prod", withSecrets("prod")),
  render("prod", withSecrets("prod"), true),
]);
const stacks = { dev: dev.json as Resource[], prod: prod.json as Resource[] };
const containers = (rs: Resource[]) => rs.filter((r) => r.type === CONTAINER);
const container = (rs: Resource[], name: string) => {
  const c = rs.find((r) => r.type === CONTAINER && r.name === name);
  assert.ok(c, `container ${name} is rendered`);
  return c!;
};
test("the ops agent takes physical backups beside the server: the data volume read-only, the socket shared", () => {
  for (const [stack, rs] of Object.entries(stacks)) {
    const pg = container(rs, `jarvis-${stack}-postgres`);
    const agent = container(rs, `jarvis-${stack}-ops-agent`);
    const socket = pg.inputs.volumes.find((v: any) => v.containerPath === "/var/run/postgresql");
    assert.ok(socket, "the server's socket directory is a volume");
    assert.deepEqual(
      agent.inputs.volumes
        .filter((v: any) => v.volumeName.startsWith(`jarvis-${stack}-postgres-`))
        .map((v: any) => [v.volumeName, v.containerPath, Boolean(v.readOnly)])
        .sort(),
      [
        [`jarvis-${stack}-postgres-data`, "/var/lib/postgresql/data", true],
        [`jarvis-${stack}-postgres-socket`, "/var/run/postgresql", false],
      ],
    );
    assert.equal(agent.inputs.user, "999:999", "the agent reads the data files as the server's user");
  }
});

const STORES = (stack: string) => [
  `jarvis-${stack}-postgres`,
  `jarvis-${stack}-redis`,
  `jarvis-${stack}-chroma`,
];

for (const [stack, rs] of Object.entries(stacks)) {
  test(`${stack}: the private network and the three stores, each with healthcheck, volume and restart policy`, () => {
    const net = rs.find((r) => r.type === "docker:index/network:Network");
    assert.equal(net?.inputs.name, `jarvis-${stack}-net`);
    assert.equal(net?.inputs.driver, "bridge");
    for (const name of STORES(stack)) {
      const c = container(rs, name);
      assert.ok(
        Array.isArray(c.inputs.healthcheck?.tests) && c.inputs.healthcheck.tests.length > 1,
        `${name} has a healthcheck`,
      );
      assert.equal(c.inputs.restart, "unless-stopped", `${name} restarts`);
      const data = (c.inputs.volumes ?? []).filter((v: any) => v.volumeName.endsWith("-data"));
      assert.equal(data.length, 1, `${name} has one named data volume`);
      assert.ok(!data[0].readOnly);
      // Chroma sits alone with its gateway on an internal network (test/unit/network-render.test.ts).
      const chroma = name === `jarvis-${stack}-chroma`;
      assert.deepEqual(
        c.inputs.networksAdvanced.map((n: any) => n.name),
        [chroma ? `jarvis-${stack}-chroma-net` : `jarvis-${stack}-net`],
      );
      assert.ok(c.inputs.memory > 0 && Number(c.inputs.cpus) > 0, `${name} has memory and CPU limits`);
      assert.equal(c.inputs.logDriver, "json-file");
      assert.equal(c.inputs.logOpts["max-size"], "10m", "A12: 10 MB log files");
      assert.ok(c.inputs.labels.some((l: any) => l.label === "jarvis.service"));
      assert.equal(c.inputs.wait, true, `${name}: pulumi up waits until healthy`);
    }
    // Volumes survive `pulumi destroy` only if they exist as resources: one per store.
    const vols = rs.filter((r) => r.type === "docker:index/volume:Volume").map((r) => r.inputs.name);
    for (const name of STORES(stack)) assert.ok(vols.includes(`${name}-data`), `volume ${name}-data`);
  });

  test(`${stack}: no port is bound on all interfaces`, () => {
    for (const c of containers(rs)) {
      for (const p of c.inputs.ports ?? []) {
        assert.ok(p.ip, `${c.name} publishes ${p.external} without an address (that is 0.0.0.0)`);
        assert.equal(p.ip, "127.0.0.1", `${c.name} binds ${p.ip}`);
      }
    }
  });

  test(`${stack}: postgres gets the built image, scram auth, the password as a file and exactly the flags of settings/postgres.ts`, () => {
    const cfg = parseConfig(decodeConfigMap(readStackFile(join(ROOT, `Pulumi.${stack}.yaml`)).config));
    const image = rs.find(
      (r) => r.type === "docker:index/image:Image" && r.name === `jarvis-${stack}-postgres-image`,
    );
    assert.equal(image?.inputs.build.dockerfile, "docker/postgres/Dockerfile");
    assert.equal(image?.inputs.build.args.BASE_IMAGE, "pgvector/pgvector:pg16");
    assert.equal(image?.inputs.build.args.PG_CRON_VERSION, cfg.postgres.pgCronVersion);
    assert.equal(image?.inputs.build.args.PGBACKREST_VERSION, cfg.postgres.pgBackRestVersion);
    assert.equal(image?.inputs.skipPush, true);
    const pg = container(rs, `jarvis-${stack}-postgres`);
    assert.equal(
      pg.inputs.image,
      `mock@sha256:jarvis-${stack}-postgres-image`,
      "the container follows the built image's digest",
    );
    assert.deepEqual(pg.inputs.command, ["postgres", ...postgresArgs(postgresSettings(cfg))]);
    assert.ok(pg.inputs.command.includes("shared_preload_libraries=pg_cron,pg_stat_statements"));
    assert.ok(pg.inputs.envs.includes("POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password"));
    assert.ok(pg.inputs.envs.includes(`POSTGRES_DB=${cfg.postgres.database}`));
    assert.ok(
      pg.inputs.envs.some(
        (e: string) => e.startsWith("POSTGRES_INITDB_ARGS=") && e.includes("--auth-host=scram-sha-256"),
      ),
    );
    assert.ok(!pg.inputs.envs.some((e: string) => /^POSTGRES_PASSWORD=/.test(e)));
    assert.equal(pg.inputs.uploads, "[secret]", "the uploaded password file is a secret");
    assert.equal(pg.inputs.volumes[0].containerPath, "/var/lib/postgresql/data");
    assert.equal(pg.inputs.memory, cfg.postgres.memoryMb);
  });

  test(`${stack}: redis runs its generated redis.conf; chroma persists at /data behind the token gateway`, () => {
    const redis = container(rs, `jarvis-${stack}-redis`);
    assert.deepEqual(redis.inputs.command, ["redis-server", "/usr/local/etc/redis/redis.conf"]);
    assert.equal(redis.inputs.volumes[0].containerPath, "/data");
    assert.equal(redis.inputs.uploads, "[secret]");
    assert.ok(
      !JSON.stringify(redis.inputs.healthcheck).includes("--pass"),
      "the healthcheck reads the password from a file",
    );
    const chroma = container(rs, `jarvis-${stack}-chroma`);
    assert.match(chroma.inputs.image, /^sha256:mock-/);
    assert.equal(chroma.inputs.volumes[0].containerPath, "/data");
    assert.deepEqual(chroma.inputs.ports ?? [], [], "Chroma itself publishes nothing");
    const conf = YAML.parse(chroma.inputs.uploads.find((u: any) => u.file === "/config.yaml").content);
    assert.equal(conf.persist_path, "/data");
    assert.ok(!JSON.stringify(chroma.inputs.healthcheck.tests).includes("curl"), "the image has no curl");
    const gw = container(rs, `jarvis-${stack}-chroma-gateway`);
    // Its own entry (settings/chroma.ts chromaGatewayCommand), not the whole CLI.
    assert.ok(gw.inputs.command.some((w: string) => w.endsWith("/cli/chroma-gateway-main.ts")));
    const upstream = gw.inputs.command.indexOf("--upstream");
    assert.equal(gw.inputs.command[upstream + 1], "http://chroma-upstream:8000");
    assert.equal(gw.inputs.uploads, "[secret]");
  });
}

test("prod: no database, cache or vector store port is published", () => {
  for (const name of [...STORES("prod"), "jarvis-prod-chroma-gateway"])
    assert.deepEqual(container(stacks.prod, name).inputs.ports ?? [], [], name);
});

test("dev: the stores are published on loopback only, as Pulumi.dev.yaml lists them", () => {
  const published = (name: string) => container(stacks.dev, name).inputs.ports;
  assert.deepEqual(published("jarvis-dev-postgres"), [
    { internal: 5432, external: 5432, ip: "127.0.0.1", protocol: "tcp" },
  ]);
  assert.deepEqual(published("jarvis-dev-redis"), [
    { internal: 6379, external: 6379, ip: "127.0.0.1", protocol: "tcp" },
  ]);
  assert.deepEqual(published("jarvis-dev-chroma-gateway"), [
    { internal: 8000, external: 8000, ip: "127.0.0.1", protocol: "tcp" },
  ]);
});

test("no credential appears in clear: not in any container's env or command, nor anywhere in the render or the outputs", () => {
  for (const [label, r] of Object.entries({ dev, prod, devProvided, prodProvided })) {
    for (const c of containers(r.json)) {
      const exposed = JSON.stringify([
        c.inputs.envs ?? [],
        c.inputs.command ?? [],
        c.inputs.healthcheck ?? {},
        c.inputs.entrypoints ?? [],
      ]);
      assert.doesNotMatch(exposed, /mock-generated-/, `${label}: ${c.name} exposes a generated secret`);
      for (const v of Object.values(SENTINELS))
        assert.ok(!exposed.includes(v), `${label}: ${c.name} exposes a provided secret`);
    }
  }
  for (const [label, r] of Object.entries({ devProvided, prodProvided, prodProvidedOutputs })) {
    for (const [name, v] of Object.entries(SENTINELS))
      assert.ok(!r.text.includes(v), `${label}: jarvis:secrets.${name} appears in clear`);
  }
  // Sanity: the provided secrets did reach the program: nothing was generated in their place.
  for (const r of [devProvided, prodProvided]) {
    const generated = (r.json as Resource[]).filter((x) => x.type.startsWith("random:")).map((x) => x.name);
    assert.ok(
      !generated.some((n) => /postgres|redis|chroma/i.test(n)),
      `generated despite provided: ${generated.join(", ")}`,
    );
  }
  assert.equal(prodProvidedOutputs.json.postgresPasswords, "[secret]");
  assert.equal(prodProvidedOutputs.json.chromaToken, "[secret]");
  assert.equal(prodProvidedOutputs.json.postgresConnection.users.app, "jarvis_app");
  assert.equal(prodProvidedOutputs.json.postgresConnection.published, null);
});

// ---- The first `up` (issue 15): images, jobs, graceful replacement, kept storage, any Docker ----
const COMMAND = "command:local:Command";
const IMAGE = "docker:index/image:Image";
const named = (rs: Resource[], type: string, name: string) => {
  const r = rs.find((x) => x.type === type && x.name === name);
  assert.ok(r, `${type} ${name} is rendered`);
  return r!;
};
const options = (r: Resource) => (r as Resource & { options: Record<string, any> }).options;

for (const [stack, rs] of Object.entries(stacks)) {
  test(`${stack}: every image the stack builds targets the one jarvis:docker.platform (the ops image builds FROM the postgres one)`, () => {
    const images = rs.filter((r) => r.type === IMAGE);
    assert.ok(images.length >= 2, "postgres and ops images");
    assert.deepEqual(new Set(images.map((i) => i.inputs.build.platform)), new Set(["linux/amd64"]));
  });

  test(`${stack}: no one-shot job is a docker container (the provider would record a failed run as done)`, () => {
    const oneShots = containers(rs).filter(
      (c) => c.inputs.attach || c.inputs.mustRun || c.inputs.restart === "no",
    );
    assert.deepEqual(
      oneShots.map((c) => c.name),
      [],
    );
    const jobs = rs.filter((r) => r.type === COMMAND).map((r) => r.name);
    // dev adds one lifecycle job per bucket on its S3-compatible store (components/bucket-lifecycle.ts).
    const lifecycle = stack === "dev" ? ["jarvis-dev-lifecycle-0", "jarvis-dev-lifecycle-1"] : [];
    assert.deepEqual(
      jobs.sort(),
      [
        `jarvis-${stack}-cron-job`,
        ...lifecycle,
        `jarvis-${stack}-migrations-job`,
        `jarvis-${stack}-postgres-roles`,
      ].sort(),
    );
  });

  test(`${stack}: jobs run in order, each only after the previous one succeeded: roles, migrations, cron, then the agent`, () => {
    const deps = (type: string, name: string) => options(named(rs, type, name)).dependsOn ?? [];
    assert.ok(deps(COMMAND, `jarvis-${stack}-postgres-roles`).includes(`jarvis-${stack}-postgres`));
    assert.deepEqual(deps(COMMAND, `jarvis-${stack}-migrations-job`), [`jarvis-${stack}-postgres-roles`]);
    assert.deepEqual(deps(COMMAND, `jarvis-${stack}-cron-job`), [`jarvis-${stack}-migrations-job`]);
    assert.ok(deps("jarvis:ops:OpsAgent", `jarvis-${stack}-ops-agent`).includes(`jarvis-${stack}-cron-job`));
  });

  test(`${stack}: the jobs' docker CLI talks to the stack's Docker host (none fixed in dev)`, () => {
    for (const job of rs.filter((r) => r.type === COMMAND)) {
      const env = job.inputs.environment ?? {};
      if (stack === "prod") assert.equal(env.DOCKER_HOST, "ssh://deploy@jarvis-db.internal", job.name);
      else assert.equal(env.DOCKER_HOST, undefined, job.name);
      assert.match(job.inputs.create, /^docker rm --force \S+ >\/dev\/null 2>&1 \|\| true\ndocker run --rm /);
      assert.match(job.inputs.create, /exit "\$rc"$/, "the job's exit code is the command's");
    }
  });

  test(`${stack}: PostgreSQL, Redis and Chroma stop gracefully on a replacement (destroyGraceSeconds >= stopTimeout)`, () => {
    for (const service of ["postgres", "redis", "chroma"]) {
      const c = container(rs, `jarvis-${stack}-${service}`);
      assert.ok(c.inputs.stopTimeout >= 30, `${service} stopTimeout ${c.inputs.stopTimeout}`);
      assert.ok(
        c.inputs.destroyGraceSeconds >= c.inputs.stopTimeout,
        `${service}: destroyGraceSeconds ${c.inputs.destroyGraceSeconds} < stopTimeout ${c.inputs.stopTimeout}`,
      );
      assert.deepEqual(
        options(c).ignoreChanges,
        ["logDriver", "logOpts"],
        `${service}: a log change does not replace it`,
      );
    }
    for (const c of containers(rs))
      assert.ok(
        c.inputs.destroyGraceSeconds >= (c.inputs.stopTimeout ?? 10),
        `${c.name} is not SIGKILLed on delete`,
      );
  });

  test(`${stack}: buckets, their sub-resources, KMS keys and store volumes are kept on destroy${stack === "prod" ? " and protected" : ""}`, () => {
    const kept = rs.filter(
      (r) =>
        r.type.startsWith("aws:s3/bucket") ||
        r.type === "aws:kms/key:Key" ||
        (r.type === "docker:index/volume:Volume" && /-(postgres|redis|chroma)-data$/.test(r.name)),
    );
    assert.ok(kept.length >= (stack === "prod" ? 20 : 9), `${kept.length} kept resources`);
    for (const r of kept) {
      assert.equal(options(r).retainOnDelete, true, `${r.name} is retained`);
      assert.equal(Boolean(options(r).protect), stack === "prod", `${r.name} protect`);
    }
    // dev's lifecycle rules are applied by jobs with no delete command: destroy leaves them on the bucket.
    const lifecycle = stack === "prod" ? ["BucketLifecycleConfiguration"] : [];
    if (stack === "dev")
      for (const j of rs.filter((r) => r.type === COMMAND))
        assert.equal(j.inputs.delete, undefined, `${j.name} undoes nothing on destroy`);
    for (const t of ["Bucket", "BucketPolicy", ...lifecycle, "BucketVersioning"])
      assert.ok(
        kept.some((r) => r.type.endsWith(`:${t}`)),
        `${t} is among the kept resources`,
      );
  });
}

// One variant of dev serves the two tests that move something: a port, and the platform.
const devPorts = YAML.parse(readFileSync(join(ROOT, "Pulumi.dev.yaml"), "utf8")).config["jarvis:ports"];
const moved = render(
  "dev",
  withSecrets("dev", {
    "jarvis:ports": { ...devPorts, publish: { ...devPorts.publish, postgres: 15432 } },
    "jarvis:docker": { platform: "linux/arm64" },
  }),
);

test("a dev port can be moved when it collides: the render publishes the new one", async () => {
  const pg = ((await moved).json as Resource[]).find(
    (r) => r.type === CONTAINER && r.name === "jarvis-dev-postgres",
  )!;
  assert.deepEqual(
    pg.inputs.ports.map((p: any) => [p.internal, p.external, p.ip]),
    [[5432, 15432, "127.0.0.1"]],
  );
});

test("jarvis:docker.platform reaches both images, and a bad one is refused", async () => {
  const images = ((await moved).json as Resource[]).filter((r) => r.type === IMAGE);
  assert.deepEqual(
    images.map((i) => i.inputs.build.platform),
    ["linux/arm64", "linux/arm64"],
  );
  const bad = await renderRaw([
    "dev",
    "--config",
    withSecrets("dev", { "jarvis:docker": { platform: "windows/amd64" } }),
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /jarvis:docker\.platform: must be linux\/amd64 or linux\/arm64/);
});
