/**
 * npm run render -- <stack> [--config FILE] [--outputs | --both]
 *
 * Prints the stack's desired state as one JSON array of {type, name, parent, inputs, options}, secrets
 * replaced by "[secret]"; --outputs prints the stack outputs instead. Exits 2 on invalid config,
 * with every problem listed on stderr.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../config/schema.ts";
import { render } from "./render-lib.ts";

const usage = "usage: npm run render -- <stack> [--config FILE] [--outputs | --both]";
let parsed;
try {
  parsed = parseArgs({
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
  console.error(`${(e as Error).message}\n${usage}`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(
    `${usage}\n\nRuns index.ts under Pulumi's mock runtime with Pulumi.<stack>.yaml (or FILE, same format)\nand prints every resource's desired inputs, secrets redacted. No Pulumi CLI, engine or cloud needed.`,
  );
  process.exit(0);
}
const stack = positionals[0];
if (!stack || positionals.length > 1) {
  console.error(usage);
  process.exit(2);
}
try {
  const result = await render(stack, values.config);
  const shown = values.both ? result : values.outputs ? result.outputs : result.resources;
  const text = JSON.stringify(shown, null, 2) + "\n";
  // Exit once the text is flushed: on a pipe, stdout is asynchronous and an early exit cuts it.
  await new Promise<void>((done) => process.stdout.write(text, () => done()));
  process.exit(0);
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(e.message);
    process.exit(2);
  }
  const err = e as NodeJS.ErrnoException;
  if (err.code === "ENOENT") {
    console.error(`render: no config file ${err.path}; create Pulumi.${stack}.yaml or pass --config FILE`);
    process.exit(2);
  }
  console.error(`render failed: ${err.stack ?? err}`);
  process.exit(1);
}
