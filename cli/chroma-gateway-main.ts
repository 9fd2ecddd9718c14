/**
 * The Chroma gateway's own entry point, what its container runs:
 *   node --import tsx cli/chroma-gateway-main.ts --upstream URL --listen HOST:PORT --token-sha256-file FILE
 * It loads node:http and core/chroma-gateway.ts, not the CLI (no pg, AWS SDK, Chroma client or
 * Pulumi), so the gateway idles in a fraction of the memory the whole CLI takes (issue 16 item 7;
 * figures in settings/chroma.ts, chromaGatewayMemoryMb). `jarvis-data chroma gateway` runs the
 * same code with the same options.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startChromaGateway, tokenSha256 } from "../core/chroma-gateway.ts";
import { EXIT, JarvisError, UsageError } from "../core/errors.ts";
import { createLogger, type Logger } from "../core/log.ts";

/** The gateway's options, shared with `jarvis-data chroma gateway`. */
export const GATEWAY_OPTIONS = {
  upstream: { type: "string", required: true, description: "Chroma's URL, e.g. http://chroma-upstream:8000" },
  listen: { type: "string", default: "127.0.0.1:8000", description: "HOST:PORT to listen on" },
  "token-sha256-file": {
    type: "string",
    description: "file holding sha256(token) in hex (what the stack uploads)",
  },
  "token-file": { type: "string", description: "file holding the token itself" },
} as const;

export interface GatewayArgs {
  upstream?: string;
  listen?: string;
  "token-sha256-file"?: string;
  "token-file"?: string;
}

export interface GatewaySettings {
  upstream: string;
  host: string;
  port: number;
  tokenSha256: string;
}

/** Checks the options and reads the token file; a UsageError names what is wrong. */
export function gatewaySettings(a: GatewayArgs): GatewaySettings {
  if (!a.upstream)
    throw new UsageError("--upstream is required, e.g. --upstream http://chroma-upstream:8000");
  const listen = a.listen ?? GATEWAY_OPTIONS.listen.default;
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m || !m[1] || !m[2]) throw new UsageError(`--listen must be HOST:PORT (got ${listen})`);
  const hashFile = a["token-sha256-file"];
  const tokenFile = a["token-file"];
  if (!hashFile === !tokenFile)
    throw new UsageError("pass exactly one of --token-sha256-file or --token-file");
  const read = (file: string, option: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch (e) {
      throw new UsageError(`${option} ${file}: ${(e as Error).message}; pass a readable file`);
    }
  };
  return {
    upstream: a.upstream,
    host: m[1].replace(/^\[|\]$/g, ""),
    port: Number(m[2]),
    tokenSha256: hashFile
      ? read(hashFile, "--token-sha256-file").trim()
      : tokenSha256(read(tokenFile!, "--token-file").replace(/\r?\n$/, "")),
  };
}

/** Serves until SIGTERM or SIGINT. */
export async function serveGateway(settings: GatewaySettings, log: Logger): Promise<number> {
  const gw = await startChromaGateway({ ...settings, log });
  log.info("chroma gateway listening", { url: gw.url, upstream: settings.upstream });
  await new Promise<void>((done) => {
    for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => void gw.close().then(done));
  });
  return EXIT.ok;
}

async function main(argv: string[]): Promise<number> {
  const log = createLogger({ json: argv.includes("--json") });
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        upstream: { type: "string" },
        listen: { type: "string" },
        "token-sha256-file": { type: "string" },
        "token-file": { type: "string" },
        json: { type: "boolean" },
      },
    });
    return await serveGateway(gatewaySettings(values), log);
  } catch (e) {
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    log.error((e as Error).message);
    // The error's own status (an unreachable upstream is 3), else usage or failure.
    if (e instanceof JarvisError) return e.exitCode;
    return usage ? EXIT.usage : EXIT.failed;
  }
}

if (process.argv[1]?.endsWith("chroma-gateway-main.ts")) process.exitCode = await main(process.argv.slice(2));
