/**
 * Who can reach what, read from the render of both stacks (issue 16, items 1 and 8):
 * - the Docker socket proxy answers exactly the container list the ops agent reads, and refuses
 *   every other path (a container's archive, export or inspect would hand out its secrets), on an
 *   internal network that only the agent and the proxy join;
 * - the log shipper has its own proxy, the same container definition, passing only the GET paths
 *   Vector's docker_logs source calls, on an internal network only the shipper and it join;
 * - Chroma (whose own token auth is a no-op) sits alone with its token gateway on an internal
 *   network, has no port, and only the gateway joins the stack's network.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import YAML from "yaml";
import { renderStack, ofType, type Rendered } from "../support/render.ts";

const [dev, prod] = await Promise.all([renderStack("dev"), renderStack("prod")]);
const STACKS = { dev, prod } as const;
const CONTAINER = "docker:index/container:Container";
const NETWORK = "docker:index/network:Network";

const container = (rs: Rendered[], name: string) => {
  const c = rs.find((r) => r.type === CONTAINER && r.name === name);
  assert.ok(c, `container ${name} rendered`);
  return c;
};
const networksOf = (c: Rendered): string[] => (c.inputs.networksAdvanced ?? []).map((n: any) => n.name);
const members = (rs: Rendered[], network: string) =>
  ofType(rs, CONTAINER)
    .filter((c) => networksOf(c).includes(network))
    .map((c) => c.name)
    .sort();
const network = (rs: Rendered[], name: string) => {
  const n = ofType(rs, NETWORK).find((r) => r.inputs.name === name);
  assert.ok(n, `network ${name} rendered`);
  return n;
};

// --- what a Docker socket proxy lets through -----------------------------------------------------

/**
 * tecnativa/docker-socket-proxy's haproxy.cfg: GET (POST only with POST=1) is allowed when the
 * path matches a section's regex and the section's env flag is 1; EVENTS, PING and VERSION default
 * to 1 in its Dockerfile. The regexes are prefixes: CONTAINERS=1 opens everything under /containers.
 */
const TECNATIVA_SECTIONS = [
  "auth", "build", "commit", "configs", "containers", "distribution", "events", "exec", "grpc",
  "images", "info", "networks", "nodes", "_ping", "plugins", "secrets", "services", "session",
  "swarm", "system", "tasks", "version", "volumes",
]; // prettier-ignore
const TECNATIVA_DEFAULTS: Record<string, string> = { EVENTS: "1", PING: "1", VERSION: "1" };

function tecnativaAllows(envs: string[], method: string, path: string): boolean {
  const env = {
    ...TECNATIVA_DEFAULTS,
    ...Object.fromEntries(envs.map((e) => e.split(/=(.*)/s).slice(0, 2))),
  };
  const on = (k: string) => ["1", "true", "yes"].includes(String(env[k] ?? "0").toLowerCase());
  if (method !== "GET" && !on("POST")) return false;
  return TECNATIVA_SECTIONS.some(
    (s) =>
      on(s === "_ping" ? "PING" : s.toUpperCase()) &&
      new RegExp(`^(/v[\\d.]+)?(/\\w+)?/${s}`, "i").test(path),
  );
}

/**
 * wollomatic/socket-proxy: a request passes only when a `-allow<METHOD>=<regex>` flag (or an
 * SP_ALLOW_<METHOD>[_n] variable) matches the whole path; the proxy anchors each regex with ^ and $.
 */
function wollomaticAllows(command: string[], envs: string[], method: string, path: string): boolean {
  const flags = command
    .map((a) => /^-allow([A-Z]+)=(.*)$/s.exec(a))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!] as const);
  const fromEnv = envs
    .map((e) => /^SP_ALLOW_([A-Z]+)(?:_\d+)?=(.*)$/s.exec(e))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!] as const);
  return [...flags, ...fromEnv].some(([m, re]) => m === method && new RegExp(`^${re}$`).test(path));
}

/** Whether the rendered proxy container lets `method path` through, by the image's own rules. */
function proxyAllows(proxy: Rendered, image: string, method: string, path: string): boolean {
  if (image.startsWith("tecnativa/docker-socket-proxy"))
    return tecnativaAllows(proxy.inputs.envs ?? [], method, path);
  if (image.startsWith("wollomatic/socket-proxy"))
    return wollomaticAllows(proxy.inputs.command ?? [], proxy.inputs.envs ?? [], method, path);
  throw new Error(`unknown Docker socket proxy image ${image}: teach this test how it filters`);
}

/** The Docker socket proxies: the agent's and the log shipper's, each its own (components/docker-proxy.ts). */
const PROXIES = (stack: string) => ({
  agent: `jarvis-${stack}-ops-agent-docker-proxy`,
  shipper: `jarvis-${stack}-monitoring-log-shipper-docker-proxy`,
});
const proxyOf = (rs: Rendered[], name: string) => {
  const proxy = container(rs, name);
  const image = rs.find(
    (r) => r.type === "docker:index/remoteImage:RemoteImage" && r.name === `${name}-image`,
  );
  return { proxy, image: String(image?.inputs.name) };
};

const ID = "0123456789ab";
/** Paths that hand out a container's files, environment or mounts: its secrets. */
const ATTACKS = [
  `/containers/${ID}/archive?path=/run/secrets`,
  `/v1.47/containers/${ID}/archive`,
  `/containers/${ID}/export`,
  `/v1.43/containers/${ID}/export`,
  `/containers/${ID}/json`,
  `/v1.47/containers/${ID}/json`,
  `/containers/${ID}/logs`,
  `/containers/${ID}/top`,
  `/exec/${ID}/json`,
  "/images/json",
  "/volumes",
  "/info",
  "/events",
];

for (const [stack, rs] of Object.entries(STACKS)) {
  test(`${stack}: the Docker socket proxy refuses a container's archive, export and inspect, and every path but the container list`, () => {
    const { proxy, image } = proxyOf(rs, PROXIES(stack).agent);
    for (const path of ["/containers/json", "/v1.47/containers/json"])
      assert.ok(proxyAllows(proxy, image, "GET", path.split("?")[0]!), `GET ${path} is what the agent reads`);
    for (const attack of ATTACKS) {
      const path = attack.split("?")[0]!;
      assert.equal(proxyAllows(proxy, image, "GET", path), false, `GET ${attack} must be refused`);
    }
    for (const method of ["POST", "PUT", "DELETE", "HEAD"])
      assert.equal(proxyAllows(proxy, image, method, "/containers/json"), false, `${method} refused`);
    // Only the agent may connect at all (the proxy's source allowlist).
    assert.ok(
      (proxy.inputs.command ?? []).includes("-allowfrom=ops-agent"),
      "connections from the agent only",
    );
  });

  test(`${stack}: both Docker API proxies run as a user that can open the socket, with no capability`, () => {
    // The image is built USER 65534:65534, which a root:docker 0660 socket refuses: without
    // jarvis:docker.socketGid the proxies run as root, capabilities dropped (dockerProxyUser).
    for (const name of Object.values(PROXIES(stack))) {
      const { proxy } = proxyOf(rs, name);
      assert.equal(proxy.inputs.user, "0:0", name);
      assert.deepEqual(proxy.inputs.capabilities, { drops: ["ALL"] }, name);
      assert.equal(proxy.inputs.readOnly, true, name);
    }
  });

  test(`${stack}: the proxy sits on an internal network that only it and the ops agent join`, () => {
    const { proxy } = proxyOf(rs, PROXIES(stack).agent);
    const agent = container(rs, `jarvis-${stack}-ops-agent`);
    const nets = networksOf(proxy);
    assert.equal(nets.length, 1, "the proxy joins one network");
    const proxyNet = nets[0]!;
    assert.notEqual(proxyNet, `jarvis-${stack}-net`, "not the stack's shared network");
    assert.equal(network(rs, proxyNet).inputs.internal, true, "internal: no route out");
    assert.deepEqual(members(rs, proxyNet), [agent.name, proxy.name].sort());
    assert.ok(networksOf(agent).includes(`jarvis-${stack}-net`), "the agent still reaches the stores");
    assert.deepEqual(proxy.inputs.ports ?? [], [], "no published port");
    const agentEnv: string[] = agent.inputs.envs ?? [];
    assert.ok(agentEnv.some((e) => /^JARVIS_DOCKER_URL=http:\/\/docker-proxy:2375$/.test(e)));
  });

  test(`${stack}: only the two socket proxies mount the Docker socket, hardened alike`, () => {
    const mounting = ofType(rs, CONTAINER)
      .filter((c) =>
        (c.inputs.volumes ?? []).some((v: any) => String(v.hostPath ?? "").includes("docker.sock")),
      )
      .map((c) => c.name)
      .sort();
    assert.deepEqual(mounting, Object.values(PROXIES(stack)).sort());
    const hardening = (c: Rendered) => ({
      image: proxyOf(rs, c.name).image,
      volumes: c.inputs.volumes,
      readOnly: c.inputs.readOnly,
      capabilities: c.inputs.capabilities,
      securityOpts: c.inputs.securityOpts,
      memory: c.inputs.memory,
      memorySwap: c.inputs.memorySwap,
      ports: c.inputs.ports ?? [],
    });
    const [agent, shipper] = Object.values(PROXIES(stack)).map((n) => container(rs, n));
    assert.deepEqual(hardening(shipper!), hardening(agent!));
    assert.deepEqual(agent!.inputs.volumes, [
      { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true },
    ]);
    assert.equal(agent!.inputs.readOnly, true);
    assert.deepEqual(agent!.inputs.capabilities.drops, ["ALL"]);
  });

  test(`${stack}: the log shipper's proxy passes exactly what Vector's docker_logs reads, to the shipper only`, () => {
    const { proxy, image } = proxyOf(rs, PROXIES(stack).shipper);
    const vector = [
      "/containers/json",
      "/v1.41/containers/json",
      "/events",
      "/v1.41/events",
      `/containers/${ID}/json`,
      `/v1.41/containers/${ID}/logs`,
    ];
    for (const path of vector)
      assert.ok(proxyAllows(proxy, image, "GET", path), `GET ${path} is what Vector reads`);
    const refused = ATTACKS.filter((a) => !vector.includes(a.split("?")[0]!) && !/\/(json|logs)$/.test(a));
    assert.ok(refused.some((a) => a.includes("/archive")) && refused.some((a) => a.includes("/export")));
    for (const attack of [
      ...refused,
      `/containers/${ID}/logs/../archive`,
      "/_ping",
      "/version",
      "/containers/x/json",
    ]) {
      const path = attack.split("?")[0]!;
      assert.equal(proxyAllows(proxy, image, "GET", path), false, `GET ${attack} must be refused`);
    }
    for (const method of ["POST", "PUT", "DELETE", "HEAD", "PATCH"])
      for (const path of vector)
        assert.equal(proxyAllows(proxy, image, method, path), false, `${method} ${path} refused`);
    assert.ok(
      (proxy.inputs.command ?? []).includes("-allowfrom=log-shipper"),
      "connections from the shipper only",
    );
  });

  test(`${stack}: the log shipper and its proxy are alone on an internal network; the shipper reads Docker there`, () => {
    const { proxy } = proxyOf(rs, PROXIES(stack).shipper);
    const shipper = container(rs, `jarvis-${stack}-monitoring-log-shipper-log-shipper`);
    assert.equal(networksOf(proxy).length, 1, "the proxy joins one network");
    const inner = networksOf(proxy)[0]!;
    assert.equal(network(rs, inner).inputs.internal, true, "internal: no route out");
    assert.deepEqual(members(rs, inner), [shipper.name, proxy.name].sort());
    assert.deepEqual(networksOf(shipper).sort(), [inner, `jarvis-${stack}-net`].sort());
    assert.ok(!members(rs, `jarvis-${stack}-net`).includes(proxy.name));
    const onInner = shipper.inputs.networksAdvanced.find((n: any) => n.name === inner);
    assert.ok(onInner.aliases.includes("log-shipper"), "the name the proxy's allowlist resolves");
    const conf = shipper.inputs.uploads.find((u: any) => u.file.endsWith("vector.yaml")).content;
    assert.equal(YAML.parse(conf).sources.containers.docker_host, "http://docker-proxy:2375");
  });

  test(`${stack}: Chroma and its gateway are alone on an internal network; only the gateway joins the stack's network`, () => {
    const chroma = container(rs, `jarvis-${stack}-chroma`);
    const gateway = container(rs, `jarvis-${stack}-chroma-gateway`);
    const shared = `jarvis-${stack}-net`;
    assert.equal(networksOf(chroma).length, 1, "Chroma joins one network");
    const inner = networksOf(chroma)[0]!;
    assert.notEqual(inner, shared, "Chroma is not on the stack's shared network");
    assert.equal(network(rs, inner).inputs.internal, true);
    assert.deepEqual(members(rs, inner), [chroma.name, gateway.name].sort());
    assert.deepEqual(networksOf(gateway).sort(), [inner, shared].sort());
    assert.ok(!members(rs, shared).includes(chroma.name));
    assert.deepEqual(chroma.inputs.ports ?? [], [], "Chroma publishes no port");
    // The gateway reaches Chroma by its alias on the inner network.
    const upstream = (gateway.inputs.command as string[])[
      (gateway.inputs.command as string[]).indexOf("--upstream") + 1
    ];
    const alias = new URL(upstream!).hostname;
    const onInner = chroma.inputs.networksAdvanced.find((n: any) => n.name === inner);
    assert.ok(onInner.aliases.includes(alias), `Chroma answers as ${alias} on ${inner}`);
  });
}
