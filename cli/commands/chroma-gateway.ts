/**
 * `jarvis-data chroma gateway`: the token-checking proxy in front of Chroma (core/chroma-gateway.ts).
 * The stack runs it as a container of the ops image; it runs until SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import { startChromaGateway, tokenSha256 } from "../../core/chroma-gateway.ts";
import { EXIT, UsageError } from "../../core/errors.ts";
import type { Command } from "../command.ts";

export const chromaGateway: Command = {
  name: "chroma gateway",
  summary: "serve the token gateway in front of Chroma (refuses requests without the token)",
  usage:
    "jarvis-data chroma gateway --upstream URL [--listen HOST:PORT] (--token-sha256-file FILE | --token-file FILE)",
  description: [
    "Proxies every request to URL when it carries the token in x-chroma-token or Authorization: Bearer,",
    "and answers 401 otherwise. GET /api/v2/heartbeat stays open for healthchecks.",
    "--token-sha256-file holds sha256(token) in hex (what the stack uploads); --token-file the token.",
  ].join("\n"),
  options: {
    upstream: { type: "string" },
    listen: { type: "string" },
    "token-sha256-file": { type: "string" },
    "token-file": { type: "string" },
  },
  async run(ctx) {
    const upstream = ctx.options.upstream as string | undefined;
    if (!upstream)
      throw new UsageError("--upstream is required, e.g. --upstream http://chroma-upstream:8000");
    const listen = (ctx.options.listen as string | undefined) ?? "127.0.0.1:8000";
    const m = /^(.*):(\d+)$/.exec(listen);
    if (!m || !m[1] || !m[2]) throw new UsageError(`--listen must be HOST:PORT (got ${listen})`);
    const hashFile = ctx.options["token-sha256-file"] as string | undefined;
    const tokenFile = ctx.options["token-file"] as string | undefined;
    if (!hashFile === !tokenFile)
      throw new UsageError("pass exactly one of --token-sha256-file or --token-file");
    const hash = hashFile
      ? readFileSync(hashFile, "utf8").trim()
      : tokenSha256(readFileSync(tokenFile!, "utf8").replace(/\r?\n$/, ""));
    const gw = await startChromaGateway({
      upstream,
      tokenSha256: hash,
      host: m[1].replace(/^\[|\]$/g, ""),
      port: Number(m[2]),
      log: ctx.log,
    });
    ctx.log.info("chroma gateway listening", { url: gw.url, upstream });
    await new Promise<void>((done) => {
      for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => void gw.close().then(done));
    });
    return EXIT.ok;
  },
};
