/**
 * npm run render -- <stack> [--config FILE] [--outputs | --both]
 *
 * Prints the stack's desired state as one JSON array of {type, name, parent, inputs, options}, secrets
 * replaced by "[secret]"; --outputs prints the stack outputs instead. Exits 2 on invalid config,
 * with every problem listed on stderr.
 */
import { renderCommand } from "./render-lib.ts";

const { code, stdout, stderr } = await renderCommand(process.argv.slice(2));
process.stderr.write(stderr);
// Exit once the text is flushed: on a pipe, stdout is asynchronous and an early exit cuts it.
await new Promise<void>((done) => process.stdout.write(stdout, () => done()));
process.exit(code);
