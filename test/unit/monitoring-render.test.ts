/** The monitoring containers in the offline render: rules mounted, secrets as files, loopback ports only. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import YAML from "yaml";
import { ALERT_NAMES, MONITORING_IMAGES, MONITORING_PATHS } from "../../settings/monitoring.ts";
import { ofType, renderRaw, withSecrets, type Rendered } from "../support/render.ts";

const CONTAINER = "docker:index/container:Container";
const SERVICES = [
  "prometheus",
  "alertmanager",
  "postgres-exporter",
  "redis-exporter",
  "node-exporter",
  "blackbox-exporter",
];

function monitoringContainers(rs: Rendered[], stack: string): Map<string, Rendered> {
  const out = new Map<string, Rendered>();
  for (const c of ofType(rs, CONTAINER))
    if (c.parent?.startsWith(`jarvis-${stack}-monitoring`))
      out.set(c.inputs.name.replace(`jarvis-${stack}-`, ""), c);
  return out;
}

test("render dev shows the monitoring containers, Prometheus with the generated rules uploaded", async () => {
  const r = await renderRaw(["dev"]);
  assert.equal(r.code, 0, r.stderr);
  const rs = JSON.parse(r.stdout) as Rendered[];
  const cs = monitoringContainers(rs, "dev");
  assert.deepEqual(
    [...cs.keys()].sort(),
    [...SERVICES, "grafana", "log-shipper", "log-shipper-docker-proxy"].sort(),
  );
  const images = ofType(rs, "docker:index/remoteImage:RemoteImage").map((i) => i.inputs.name);
  for (const img of Object.values(MONITORING_IMAGES)) assert.ok(images.includes(img), `${img} is pulled`);

  const prom = cs.get("prometheus")!;
  const uploads = new Map<string, any>(prom.inputs.uploads.map((u: any) => [u.file, u]));
  const rules = YAML.parse(uploads.get(MONITORING_PATHS.prometheusRules).content);
  assert.deepEqual(
    rules.groups.flatMap((g: any) => g.rules.flatMap((x: any) => (x.alert ? [x.alert] : []))).sort(),
    [...ALERT_NAMES].sort(),
  );
  const conf = YAML.parse(uploads.get(MONITORING_PATHS.prometheusConfig).content);
  assert.deepEqual(conf.rule_files, [MONITORING_PATHS.prometheusRules]);
  assert.equal(conf.global.external_labels.stack, "dev");
  assert.ok(prom.inputs.command.includes(`--config.file=${MONITORING_PATHS.prometheusConfig}`));

  for (const [service, c] of cs) {
    assert.equal(c.inputs.restart, "unless-stopped", service);
    assert.equal(c.inputs.logOpts["max-size"], "10m", service);
    assert.ok(c.inputs.memory > 0 && Number(c.inputs.cpus) > 0, `${service} has limits`);
    assert.ok(c.inputs.healthcheck.tests.length > 1, `${service} has a healthcheck`);
    assert.ok(c.inputs.labels.some((l: any) => l.label === "jarvis.service" && l.value === service));
    for (const p of c.inputs.ports ?? [])
      assert.equal(p.ip, "127.0.0.1", `${service} publishes on loopback only`);
    for (const e of c.inputs.envs ?? [])
      assert.doesNotMatch(e, /PASS(WORD)?=|DATA_SOURCE_NAME=/, `${service}: no password in env`);
  }
  assert.deepEqual(cs.get("prometheus")!.inputs.ports, [
    { internal: 9090, external: 9090, ip: "127.0.0.1", protocol: "tcp" },
  ]);
  assert.deepEqual(
    cs.get("postgres-exporter")!.inputs.ports ?? [],
    [],
    "exporters are reached on the private network only",
  );
  // Password files hold secrets, so the whole uploads list is redacted; the env points at the files.
  assert.equal(cs.get("postgres-exporter")!.inputs.uploads, "[secret]");
  assert.ok(
    cs
      .get("postgres-exporter")!
      .inputs.envs.includes(`DATA_SOURCE_PASS_FILE=${MONITORING_PATHS.postgresExporterPasswordFile}`),
  );
  assert.ok(cs.get("postgres-exporter")!.inputs.envs.includes("DATA_SOURCE_USER=jarvis_monitor"));
  assert.ok(cs.get("redis-exporter")!.inputs.envs.includes("REDIS_USER=monitor"));
  // Without receivers, Alertmanager's config is plain and holds none.
  const am = YAML.parse(
    cs.get("alertmanager")!.inputs.uploads.find((u: any) => u.file === MONITORING_PATHS.alertmanagerConfig)
      .content,
  );
  assert.deepEqual(am.receivers, [{ name: "jarvis-operators" }]);
});

test("render prod with e-mail and webhook receivers and Grafana: credentials only as secret files", async () => {
  const r = await renderRaw(["prod", "--config", withSecrets("prod")]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /SENTINEL/, "no secret value in the render");
  const rs = JSON.parse(r.stdout) as Rendered[];
  const cs = monitoringContainers(rs, "prod");
  assert.deepEqual(
    [...cs.keys()].sort(),
    [...SERVICES, "grafana", "log-shipper", "log-shipper-docker-proxy"].sort(),
  );
  assert.equal(
    cs.get("alertmanager")!.inputs.uploads,
    "[secret]",
    "the receivers' secret files make the uploads secret",
  );
  for (const c of cs.values())
    assert.deepEqual(c.inputs.ports ?? [], [], "prod publishes no monitoring port");
  const rules = YAML.parse(
    cs.get("prometheus")!.inputs.uploads.find((u: any) => u.file === MONITORING_PATHS.prometheusRules)
      .content,
  );
  const containerDown = rules.groups
    .flatMap((g: any) => g.rules)
    .find((x: any) => x.alert === "ContainerNotFound").expr;
  const doc = YAML.parse(readFileSync("Pulumi.prod.yaml", "utf8"));
  for (const app of doc.config["jarvis:monitoring"].appContainers)
    assert.match(containerDown, new RegExp(`container="${app}"`), `${app} is watched`);
  assert.ok(
    cs
      .get("grafana")!
      .inputs.envs.includes("GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/grafana_admin_password"),
  );
});

test("Grafana is on by default: loopback and anonymous viewers in dev, login only in prod", async () => {
  const dev = monitoringContainers(JSON.parse((await renderRaw(["dev"])).stdout) as Rendered[], "dev").get(
    "grafana",
  )!;
  assert.deepEqual(dev.inputs.ports, [{ internal: 3000, external: 3000, ip: "127.0.0.1", protocol: "tcp" }]);
  assert.ok(dev.inputs.envs.includes("GF_AUTH_ANONYMOUS_ENABLED=true"));
  const r = await renderRaw(["prod"]);
  assert.equal(r.code, 0, r.stderr);
  const prod = monitoringContainers(JSON.parse(r.stdout) as Rendered[], "prod").get("grafana")!;
  assert.ok(prod.inputs.envs.includes("GF_AUTH_ANONYMOUS_ENABLED=false"), "prod: no anonymous viewers");
  assert.ok(
    prod.inputs.envs.includes(
      `GF_SECURITY_ADMIN_PASSWORD__FILE=${MONITORING_PATHS.grafanaAdminPasswordFile}`,
    ),
  );
  assert.deepEqual(prod.inputs.ports ?? [], [], "prod publishes Grafana nowhere unless config says");
  assert.equal(prod.inputs.uploads, "[secret]", "the admin password file makes the uploads secret");
});

test("node-exporter mounts the host's / (rslave) in prod only: dev's Docker Desktop, WSL2 and rootless refuse it", async () => {
  for (const [stack, expected] of [
    ["dev", false],
    ["prod", true],
  ] as const) {
    const r = await renderRaw([stack]);
    assert.equal(r.code, 0, r.stderr);
    const ne = monitoringContainers(JSON.parse(r.stdout) as Rendered[], stack).get("node-exporter")!;
    const hostRoot = (ne.inputs.mounts ?? []).some((m: any) => m.source === "/" && m.type === "bind");
    assert.equal(hostRoot, expected, `${stack}: host / mounted`);
    assert.equal(ne.inputs.command.includes("--path.rootfs=/host"), expected, `${stack}: --path.rootfs`);
  }
});
