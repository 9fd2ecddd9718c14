/**
 * A render process that a test file keeps for all its renders: each message on its IPC channel is
 * an array of `npm run render` arguments, answered by one message, the RenderRun (stdout, stderr,
 * exit code). One process pays the Pulumi SDK's load once, and renders run one after another as
 * the runtime requires. A config or usage error (exit 2) is found before any resource exists
 * (index.ts loads its config first), so the worker goes on; after any other failure it exits, so a
 * program stopped half-way leaves nothing behind for the next render: the client starts a new worker.
 * Started by test/support/render-pool.ts (child_process.fork with --import tsx).
 */
import { renderCommand, type RenderRun } from "../../scripts/render-lib.ts";

const channel = process.send?.bind(process);
if (!channel) throw new Error("render-worker answers test/support/render.ts over IPC: start it with fork");
/** One answer: the run, and whether this worker ends after it. */
export interface RenderAnswer {
  run: RenderRun;
  exiting: boolean;
}
const send = (answer: RenderAnswer) =>
  new Promise<void>((done) => channel(answer, undefined, undefined, () => done()));

/** What the program prints while it renders (Pulumi's log goes to the console), as a process of its own would show it. */
async function capturing(work: () => Promise<RenderRun>): Promise<RenderRun> {
  const printed = { stdout: "", stderr: "" };
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  for (const name of ["stdout", "stderr"] as const)
    process[name].write = (chunk: string | Uint8Array) => {
      printed[name] += chunk.toString();
      return true;
    };
  try {
    const run = await work();
    return { ...run, stdout: printed.stdout + run.stdout, stderr: printed.stderr + run.stderr };
  } finally {
    Object.assign(process.stdout, { write: writes.stdout });
    Object.assign(process.stderr, { write: writes.stderr });
  }
}

let turn: Promise<void> = Promise.resolve();
process.on("message", (args: string[]) => {
  turn = turn.then(async () => {
    const run = await capturing(() => renderCommand(args));
    const exiting = run.code !== 0 && run.code !== 2;
    await send({ run, exiting });
    if (exiting) process.exit(0);
  });
});
process.on("disconnect", () => process.exit(0));
