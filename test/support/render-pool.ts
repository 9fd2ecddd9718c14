/**
 * Render workers (test/support/render-worker.ts): child processes that each render one stack at a
 * time, so a pool of N renders N at once. A worker that ends after a render (a failed program) is
 * replaced on the next request. Used by a test file on its own, and by the unit tier's runner
 * (test/support/run-unit.ts), which shares one pool among all test files.
 */
import { fork, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import type { RenderRun } from "../../scripts/render-lib.ts";
import type { RenderAnswer } from "./render-worker.ts";

const ROOT = resolve(import.meta.dirname, "../..");

interface Worker {
  child: ChildProcess;
  busy: boolean;
  answer?: (answer: RenderAnswer) => void;
}

export class RenderPool {
  private readonly workers: Worker[] = [];
  private readonly queue: { args: string[]; done: (run: RenderRun) => void }[] = [];

  /**
   * `size` workers at most. With `holdOnlyWhenBusy`, an idle pool does not keep its process alive
   * (a finished test file exits, and its workers, their channel closed, with it).
   */
  constructor(
    private readonly size: number,
    private readonly holdOnlyWhenBusy: boolean,
  ) {}

  render(args: string[]): Promise<RenderRun> {
    return new Promise((done) => {
      this.queue.push({ args, done });
      this.dispatch();
    });
  }

  /** Starts the workers now, so their load overlaps other work before the first render. */
  warm(): void {
    while (this.workers.length < this.size) this.start();
  }

  close(): void {
    for (const w of this.workers) w.child.kill();
  }

  private dispatch(): void {
    while (this.queue.length) {
      const w =
        this.workers.find((x) => !x.busy) ?? (this.workers.length < this.size ? this.start() : undefined);
      if (!w) return;
      const { args, done } = this.queue.shift()!;
      w.busy = true;
      this.hold(w, true);
      w.answer = ({ run, exiting }) => {
        w.busy = false;
        w.answer = undefined;
        this.hold(w, false);
        if (exiting) this.drop(w);
        done(run);
        this.dispatch();
      };
      w.child.send(args);
    }
  }

  /**
   * A worker runs without coverage: the runner's coverage stays what the tests execute, and the
   * SDK's modules (11 MB of coverage data per process) stay out of it.
   */
  private start(): Worker {
    const env = { ...process.env };
    delete env.NODE_V8_COVERAGE;
    const child = fork(resolve(ROOT, "test/support/render-worker.ts"), [], {
      cwd: ROOT,
      env,
      execArgv: ["--import", "tsx"],
      // Render errors come back in the answer; only a crash of the worker itself reaches stderr.
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    const w: Worker = { child, busy: false };
    this.workers.push(w);
    this.hold(w, false);
    child.on("message", (answer: RenderAnswer) => w.answer?.(answer));
    child.on("exit", (code) => {
      this.drop(w);
      const run = {
        code: code || 1,
        stdout: "",
        stderr: `render worker exited ${code} (its stderr is above)`,
      };
      w.answer?.({ run, exiting: true });
    });
    return w;
  }

  private drop(w: Worker): void {
    const at = this.workers.indexOf(w);
    if (at >= 0) this.workers.splice(at, 1);
  }

  private hold(w: Worker, busy: boolean): void {
    if (!this.holdOnlyWhenBusy) return;
    for (const h of [w.child, w.child.channel]) {
      if (busy) h?.ref();
      else h?.unref();
    }
  }
}
