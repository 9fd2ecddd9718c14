/**
 * One render pool shared by every test file of a run: the unit tier's runner serves it on a Unix
 * socket, and test files send their renders there instead of each starting its own worker (each
 * worker pays the Pulumi SDK's load once). One request per connection: a JSON array of render
 * arguments and a newline, answered by the RenderRun as JSON and a newline.
 */
import { createConnection, createServer, type Server } from "node:net";
import type { RenderRun } from "../../scripts/render-lib.ts";
import type { RenderPool } from "./render-pool.ts";

/** Reads one newline-terminated JSON value from a connection. */
function readLine(socket: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    text += chunk;
    const end = text.indexOf("\n");
    if (end >= 0) onLine(text.slice(0, end));
  });
}

export function serveRenders(pool: RenderPool, path: string): Promise<Server> {
  const server = createServer((conn) =>
    readLine(conn, (line) => {
      void pool.render(JSON.parse(line) as string[]).then((run) => conn.end(JSON.stringify(run) + "\n"));
    }),
  );
  return new Promise((ready, fail) => {
    server.once("error", fail);
    server.listen(path, () => ready(server));
  });
}

/** A render through the shared pool at `path`. */
export function renderThrough(path: string, args: string[]): Promise<RenderRun> {
  return new Promise((done, fail) => {
    const conn = createConnection(path, () => conn.write(JSON.stringify(args) + "\n"));
    conn.on("error", (e) => fail(new Error(`render server at ${path}: ${e.message}`)));
    readLine(conn, (line) => done(JSON.parse(line) as RenderRun));
  });
}
