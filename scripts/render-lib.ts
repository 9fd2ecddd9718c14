/**
 * Offline render: runs index.ts under Pulumi's mock runtime (no CLI, no engine, no cloud) with a
 * stack's config, and returns every resource's desired inputs with secrets replaced by "[secret]".
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../config/schema.ts";
import { readStackFile } from "../config/stackfile.ts";

export const SECRET_MARKER = "4dabf18193072939515e22adb298388d";
export const REDACTED = "[secret]";
const ROOT = resolve(import.meta.dirname, "..");

/** The resource options a reviewer needs to see beside the inputs (only those set). */
export interface RenderedOptions {
  protect?: boolean;
  retainOnDelete?: boolean;
  deleteBeforeReplace?: boolean;
  /** Names of the resources it waits for. */
  dependsOn?: string[];
  ignoreChanges?: string[];
  replaceOnChanges?: string[];
}

export interface RenderedResource {
  type: string;
  name: string;
  parent: string | null;
  inputs: unknown;
  options: RenderedOptions;
}

/** The part of Pulumi's RegisterResourceRequest that carries the options. */
interface RegistrationRequest {
  hasProtect(): boolean;
  getProtect(): boolean | undefined;
  hasRetainondelete(): boolean;
  getRetainondelete(): boolean | undefined;
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(f: (v: { getUrnsList(): string[] }) => void): void };
}

/**
 * The options of one resource as the engine would receive them. The SDK's mock runtime reports no
 * support for stack transforms (runtime/mocks.js sets supportsTransforms = false, and
 * registerResourceTransform then throws), so they are read from the registration request instead:
 * the same protect, retainOnDelete, deleteBeforeReplace, ignoreChanges and replaceOnChanges, and
 * as dependsOn the resources depended on other than through an input (a component in dependsOn
 * stands for its resources, so those are listed).
 */
export function registeredOptions(
  req: RegistrationRequest,
  nameOf: (urn: string) => string,
): RenderedOptions {
  const out: RenderedOptions = {};
  if (req.hasProtect() && req.getProtect()) out.protect = true;
  if (req.hasRetainondelete() && req.getRetainondelete()) out.retainOnDelete = true;
  if (req.getDeletebeforereplace()) out.deleteBeforeReplace = true;
  if (req.getIgnorechangesList().length) out.ignoreChanges = req.getIgnorechangesList();
  if (req.getReplaceonchangesList().length) out.replaceOnChanges = req.getReplaceonchangesList();
  const throughInputs = new Set<string>();
  req.getPropertydependenciesMap().forEach((v) => v.getUrnsList().forEach((u) => throughInputs.add(u)));
  const explicit = req.getDependenciesList().filter((u) => !throughInputs.has(u));
  if (explicit.length) out.dependsOn = [...new Set(explicit.map(nameOf))].sort();
  return out;
}

/** Replaces every secret-marked value (Pulumi's wire format) with "[secret]". */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === "object") {
    if (SECRET_MARKER in value) return REDACTED;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v)]));
  }
  return value;
}

/** Deterministic stand-ins for what providers compute, so `apply` on them resolves (also for test/unit/job-failure.test.ts). */
export function mockState(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
  const state: Record<string, unknown> = { ...inputs, name: inputs.name ?? name };
  if (type.startsWith("random:")) state.result = `mock-generated-${name}`;
  if (type.startsWith("aws:")) {
    state.arn = `arn:aws:mock:::${name}`;
    if (type === "aws:s3/bucket:Bucket") state.bucket = inputs.bucket ?? name;
    if (type === "aws:iam/accessKey:AccessKey") state.secret = `mock-secret-${name}`;
  }
  if (type.startsWith("tls:")) {
    state.privateKeyPem = `mock-private-key-${name}`;
    state.certPem = `mock-cert-${name}`;
  }
  if (type.startsWith("docker:")) {
    state.imageId = `sha256:mock-${name}`;
    state.repoDigest = `mock@sha256:${name}`;
  }
  return state;
}

/** An exported value as the engine would show it: secret outputs as "[secret]". */
async function resolveOutput(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    const out = value as pulumi.Output<unknown> & { isSecret: Promise<boolean>; promise(): Promise<unknown> };
    if (await out.isSecret) return REDACTED;
    return resolveOutput(await out.promise());
  }
  if (Array.isArray(value)) return Promise.all(value.map(resolveOutput));
  if (value && typeof value === "object" && !(value instanceof pulumi.Resource)) {
    const entries = await Promise.all(
      Object.entries(value).map(async ([k, v]) => [k, await resolveOutput(v)] as const),
    );
    return Object.fromEntries(entries);
  }
  return value instanceof pulumi.Resource ? "[resource]" : value;
}

export interface RenderResult {
  resources: RenderedResource[];
  outputs: Record<string, unknown>;
}

let runs = 0;

/**
 * Runs the program once under fresh mocks. Pulumi's runtime is global, so renders in one process
 * must run one after another, never at once. Each run imports its own instance of index.ts (a
 * query makes a new module: its top level, the program, runs again); the modules it imports are
 * shared, and hold no state between runs.
 */
export async function render(stack: string, configFile?: string): Promise<RenderResult> {
  const { config, secretKeys } = readStackFile(configFile ?? resolve(ROOT, `Pulumi.${stack}.yaml`));
  const resources: RenderedResource[] = [];
  const requests = new Map<string, RegistrationRequest>();
  const parents = new Map<string, string>();
  const urnNames = new Map<string, string>();

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({
          type: args.type,
          name: args.name,
          parent: null,
          inputs: redact(args.inputs),
          options: {},
        });
        return { id: `${args.name}-id`, state: mockState(args.type, args.name, args.inputs) };
      },
      call(args) {
        if (args.token === "aws:index/getCallerIdentity:getCallerIdentity")
          return { accountId: "000000000000", arn: "arn:aws:iam::000000000000:user/mock", userId: "mock" };
        if (args.token === "aws:index/getRegion:getRegion")
          return { name: config["jarvis:backup"] ? "mock-region" : "us-east-1", region: "us-east-1" };
        return args.inputs;
      },
    },
    "jarvis-data",
    stack,
    false,
  );
  // Record each resource's parent (the mock API does not pass it on) and the stack outputs.
  const monitor: any = pulumi.runtime.getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, cb: any) => {
    const key = `${req.getType()}::${req.getName()}`;
    if (req.getParent()) parents.set(key, req.getParent());
    requests.set(key, req);
    register(req, (err: unknown, resp: any) => {
      if (!err && resp) urnNames.set(resp.getUrn(), req.getName());
      cb(err, resp);
    });
  };
  pulumi.runtime.setAllConfig(config, secretKeys);

  const instance = runs++ === 0 ? "" : `?render=${runs}`;
  const program: Record<string, unknown> = await import(
    pathToFileURL(resolve(ROOT, "index.ts")).href + instance
  );
  // Registrations continue asynchronously after the import; wait until the queue stays empty.
  let seen = -1;
  while (seen !== resources.length) {
    seen = resources.length;
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const r of resources) {
    const urn = parents.get(`${r.type}::${r.name}`);
    r.parent = urn ? (urnNames.get(urn) ?? urn.split("::").pop() ?? null) : null;
    const req = requests.get(`${r.type}::${r.name}`);
    r.options = req ? registeredOptions(req, (u) => urnNames.get(u) ?? u.split("::").pop() ?? u) : {};
  }
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(program)) outputs[key] = await resolveOutput(value);
  return { resources, outputs };
}

export const RENDER_USAGE = "usage: npm run render -- <stack> [--config FILE] [--outputs | --both]";

/** What `npm run render` prints and its exit status. */
export interface RenderRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `npm run render -- <args>` as a function: the text for stdout and stderr and the exit status, 2
 * for a usage or config error with every problem listed. scripts/render.ts prints it; the tests'
 * render worker (test/support/render-worker.ts) answers with it.
 */
export async function renderCommand(args: string[]): Promise<RenderRun> {
  const fail = (code: number, stderr: string): RenderRun => ({ code, stdout: "", stderr: `${stderr}\n` });
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        config: { type: "string" },
        outputs: { type: "boolean" },
        // Both at once, {resources, outputs}: one run of the program where a caller needs the two.
        both: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    return fail(2, `${(e as Error).message}\n${RENDER_USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    const about =
      "Runs index.ts under Pulumi's mock runtime with Pulumi.<stack>.yaml (or FILE, same format)\n" +
      "and prints every resource's desired inputs, secrets redacted. No Pulumi CLI, engine or cloud needed.";
    return { code: 0, stdout: `${RENDER_USAGE}\n\n${about}\n`, stderr: "" };
  }
  const stack = positionals[0];
  if (!stack || positionals.length > 1) return fail(2, RENDER_USAGE);
  try {
    const result = await render(stack, values.config);
    const shown = values.both ? result : values.outputs ? result.outputs : result.resources;
    return { code: 0, stdout: JSON.stringify(shown, null, 2) + "\n", stderr: "" };
  } catch (e) {
    if (e instanceof ConfigError) return fail(2, e.message);
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT")
      return fail(2, `render: no config file ${err.path}; create Pulumi.${stack}.yaml or pass --config FILE`);
    return fail(1, `render failed: ${err.stack ?? err}`);
  }
}
