/**
 * Runs index.ts under Pulumi's mock engine with one resource whose create fails, and prints what
 * the engine recorded as JSON: {attempted, recorded, errors}. A child process of
 * test/unit/job-failure.test.ts (Pulumi's runtime is global, and the failure surfaces as
 * unhandled rejections, which the test runner would count against the test itself).
 * Usage: tsx test/support/failing-resource.ts <stack> <resource name>
 */
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { readStackFile } from "../../config/stackfile.ts";
import { mockState } from "../../scripts/render-lib.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const [stack, failing] = process.argv.slice(2);
const attempted: string[] = [];
const recorded: { type: string; name: string }[] = [];
const errors: string[] = [];
process.on("unhandledRejection", (e) => errors.push(String((e as Error)?.message ?? e)));

await pulumi.runtime.setMocks(
  {
    newResource(args) {
      attempted.push(args.name);
      if (args.name === failing) throw new Error(`docker run exited with 1: ${failing} failed`);
      recorded.push({ type: args.type, name: args.name });
      return { id: `${args.name}-id`, state: mockState(args.type, args.name, args.inputs) };
    },
    call: (args) => args.inputs,
  },
  "jarvis-data",
  stack!,
  false,
);
const { config, secretKeys } = readStackFile(resolve(ROOT, `Pulumi.${stack}.yaml`));
pulumi.runtime.setAllConfig(config, secretKeys);
await import(resolve(ROOT, "index.ts")).catch((e) => errors.push(String(e?.message ?? e)));
// Registrations go on asynchronously (waitForRPCs never settles once one has failed): wait until
// no new resource has been attempted for a while.
let seen = -1;
while (seen !== attempted.length) {
  seen = attempted.length;
  await new Promise((r) => setTimeout(r, 400));
}
process.stdout.write(JSON.stringify({ attempted, recorded, errors: [...new Set(errors)] }) + "\n");
process.exit(0);
