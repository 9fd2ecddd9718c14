/**
 * `jarvis-data storage lifecycle apply|check`: lifecycle rules on an S3-compatible server (the dev
 * store), put and read back by core/storage/lifecycle.ts. The dev stack runs `apply` as a job keyed
 * on the rules' hash (components/bucket-lifecycle.ts); `check` reports drift without writing.
 */
import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import { EXIT, UsageError } from "../../core/errors.ts";
import { applyLifecycle, checkLifecycle, lifecycleRulesHash } from "../../core/storage/lifecycle.ts";
import type { LifecycleRule } from "../../settings/lifecycle.ts";
import { need, type Connections } from "../env.ts";
import { defineCommand, type Command, type CommandContext } from "../command.ts";

const days = z.number().int().min(1);
/** settings/lifecycle.ts's LifecycleRule, checked at the boundary. */
const ruleSchema = z.strictObject({
  id: z.string().min(1),
  status: z.literal("Enabled"),
  filter: z.strictObject({ prefix: z.string() }),
  expiration: z
    .strictObject({ days: days.optional(), expiredObjectDeleteMarker: z.boolean().optional() })
    .optional(),
  transitions: z
    .array(z.strictObject({ days, storageClass: z.enum(["STANDARD_IA", "GLACIER_IR"]) }))
    .optional(),
  noncurrentVersionExpiration: z.strictObject({ noncurrentDays: days }),
  abortIncompleteMultipartUpload: z.strictObject({ daysAfterInitiation: days }).optional(),
});
const rulesSchema = z.array(ruleSchema).min(1);

/** Rules from FILE ("-": stdin), as JSON in settings/lifecycle.ts's shape. */
export function readRules(file: string): LifecycleRule[] {
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    throw new UsageError(`--rules-file ${file}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--rules-file ${file}: not JSON (${(e as Error).message})`);
  }
  const r = rulesSchema.safeParse(parsed);
  if (!r.success)
    throw new UsageError(
      `--rules-file ${file}: not a list of lifecycle rules (${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")})`,
    );
  return r.data as LifecycleRule[];
}

/** An S3 client for the endpoint in JARVIS_S3_ENDPOINT, trusting `caFile` when given (the dev store's CA). */
export function storageClient(s3: Connections["s3"], caFile?: string): S3Client {
  const endpoint = need(s3.endpoint, "JARVIS_S3_ENDPOINT", "https://127.0.0.1:9000");
  return new S3Client({
    region: s3.region,
    endpoint,
    forcePathStyle: true,
    ...(s3.accessKeyId && s3.secretAccessKey
      ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }
      : {}),
    ...(caFile ? { requestHandler: { httpsAgent: new Agent({ ca: readFileSync(caFile, "utf8") }) } } : {}),
  });
}

const options = {
  bucket: { type: "string", required: true, description: "the bucket" },
  "rules-file": { type: "string", default: "-", description: "the rules as JSON (-: stdin)" },
  "ca-file": { type: "string", description: "a CA certificate (PEM) to trust, the dev store's" },
} as const;

function target(ctx: CommandContext<typeof options>): {
  bucket: string;
  rules: LifecycleRule[];
  s3: S3Client;
} {
  const { bucket } = ctx.options;
  const rules = readRules(ctx.options["rules-file"]);
  return { bucket, rules, s3: storageClient(ctx.env.s3, ctx.options["ca-file"]) };
}

export const storageLifecycleApply = defineCommand({
  name: "storage lifecycle apply",
  summary:
    "put a bucket's lifecycle rules on an S3-compatible server, read them back, fail on any difference",
  usage: "jarvis-data storage lifecycle apply --bucket NAME [--rules-file FILE|-] [--ca-file PEM] [--json]",
  description: [
    "Replaces the bucket's lifecycle configuration with the rules in FILE (JSON, settings/lifecycle.ts's",
    "shape; default: stdin), then reads the configuration back and exits 1 naming each rule and field the",
    "server kept differently (JARVIS_LIFECYCLE_MISMATCH). Endpoint and keys: JARVIS_S3_ENDPOINT, AWS_*.",
  ].join("\n"),
  options,
  async run(ctx) {
    const { bucket, rules, s3 } = target(ctx);
    const applied = await applyLifecycle(s3, bucket, rules);
    ctx.print(
      applied,
      `${bucket}: ${applied.rules} lifecycle rules applied and read back (${applied.hash.slice(0, 12)})`,
    );
    return EXIT.ok;
  },
});

export const storageLifecycleCheck = defineCommand({
  name: "storage lifecycle check",
  summary: "compare a bucket's lifecycle rules on the server with the wanted ones, without writing",
  usage: "jarvis-data storage lifecycle check --bucket NAME [--rules-file FILE|-] [--ca-file PEM] [--json]",
  options,
  async run(ctx) {
    const { bucket, rules, s3 } = target(ctx);
    await checkLifecycle(s3, bucket, rules);
    const hash = lifecycleRulesHash(rules);
    ctx.print(
      { bucket, rules: rules.length, hash },
      `${bucket}: the server keeps the ${rules.length} wanted rules`,
    );
    return EXIT.ok;
  },
});

export const STORAGE_COMMANDS: Command[] = [storageLifecycleApply, storageLifecycleCheck];
