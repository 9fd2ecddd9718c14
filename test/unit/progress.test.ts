import assert from "node:assert/strict";
import { test } from "node:test";
import { createProgress, formatAmount, formatDuration, progressLine } from "../../core/progress.ts";

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, chunks, write: (s: string) => (chunks.push(s), true) };
}

test("amounts read as people read them: bytes in binary units, rows with separators", () => {
  assert.equal(formatAmount(512, "bytes"), "512 B");
  assert.equal(formatAmount(1536, "bytes"), "1.5 KiB");
  assert.equal(formatAmount(3 * 1024 ** 3, "bytes"), "3.0 GiB");
  assert.equal(formatAmount(1234567, "rows"), "1,234,567");
  assert.equal(formatDuration(42), "42s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(3720), "1h02m");
});

test("a line gives done of total, the rate and the time left", () => {
  const line = progressLine({
    label: "adopt messages",
    done: 250_000,
    total: 1_000_000,
    unit: "rows",
    elapsedSeconds: 5,
  });
  assert.equal(line, "adopt messages: 250,000 of 1,000,000 (25%), 50,000/s, 15s left");
  const open = progressLine({ label: "backup", done: 2048, unit: "bytes", elapsedSeconds: 2 });
  assert.equal(open, "backup: 2.0 KiB, 1.0 KiB/s");
});

test("draws in place on a terminal and ends the line when finished", () => {
  const s = sink(true);
  let t = 0;
  const p = createProgress({ label: "verify", total: 100, unit: "objects", stream: s, now: () => t });
  t = 1000;
  p.update(50);
  t = 1100; // within the redraw interval: not drawn
  p.update(60);
  t = 2000;
  p.update(100);
  p.finish();
  assert.equal(s.chunks.length, 3);
  assert.ok(s.chunks.every((c) => c.startsWith("\r")));
  assert.match(s.chunks[0]!, /50 of 100 \(50%\)/);
  assert.ok(s.chunks[2]!.endsWith("\n"));
});

test("stays quiet off a terminal and when disabled (--json), whatever the updates", () => {
  for (const [isTTY, enabled] of [
    [false, undefined],
    [true, false],
  ] as const) {
    const s = sink(isTTY);
    const p = createProgress({ label: "x", total: 10, unit: "rows", stream: s, enabled });
    p.update(5);
    p.finish();
    assert.deepEqual(s.chunks, []);
  }
});
