/**
 * One COPY from the source straight into one COPY on the target: the rows cross as PostgreSQL's
 * own text format, never parsed in between, with the target's pace holding the source's back.
 *
 * A COPY TO cannot be stopped half-way but by cancelling it, so whatever happens to the target
 * the source's COPY is read to its end (a batch is bounded), leaving its connection ready for the
 * next statement. Each chunk is written only once the previous one has gone out: the copy stream
 * never holds data of its own when the target fails (pg-copy-streams would then write to a
 * connection it has let go of: brianc/node-pg-copy-streams#171). After the target's error the
 * stream is left alone (no end(), no destroy(): both would write to that connection); pg has
 * already ended the query (client.js clears the active query on an ErrorResponse), and CopyData
 * still in flight is ignored by the server once out of COPY (postgres.c, PostgresMain: "Accept but
 * ignore these messages, per protocol spec"). test/adopt.test.ts refuses a row early in a 12 MB
 * batch to exercise this.
 */
import type pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";

/** The source's COPY failed (a value its SQL could not convert, a lost connection): not the target's doing. */
export class CopyOutError extends Error {
  constructor(readonly reason: Error) {
    super(reason.message);
    this.name = "CopyOutError";
  }
}

/** Copies `out` (a COPY ... TO STDOUT on the source) into `into` (a COPY ... FROM STDIN on the target); returns the rows the target took. */
export async function transfer(
  source: pg.Client,
  out: string,
  target: pg.Client,
  into: string,
): Promise<number> {
  const reader = source.query(copyTo(out));
  const writer = target.query(copyFrom(into));
  let failed: Error | undefined;
  const settled = new Promise<void>((done) => {
    writer.on("finish", done);
    writer.on("error", (e: Error) => {
      failed ??= e;
      done();
    });
  });
  const written = (chunk: Buffer) =>
    Promise.race([new Promise<void>((done) => writer.write(chunk, () => done())), settled]);
  try {
    for await (const chunk of reader as AsyncIterable<Buffer>) if (!failed) await written(chunk);
  } catch (e) {
    // The source failed: the target's COPY is abandoned (CopyFail), and the error is the source's.
    if (!failed) writer.destroy(e as Error);
    await settled;
    throw new CopyOutError(e as Error);
  }
  if (!failed) writer.end();
  await settled;
  if (failed) throw failed;
  return writer.rowCount;
}
