/**
 * `jarvis-data chroma gateway`: the token-checking proxy in front of Chroma (core/chroma-gateway.ts).
 * The stack's container runs the same code through its own small entry, cli/chroma-gateway-main.ts
 * (settings/chroma.ts, chromaGatewayCommand); it runs until SIGTERM/SIGINT.
 */
import { defineCommand } from "../command.ts";
import { GATEWAY_OPTIONS, gatewaySettings, serveGateway } from "../chroma-gateway-main.ts";

export const chromaGateway = defineCommand({
  name: "chroma gateway",
  summary: "serve the token gateway in front of Chroma (refuses requests without the token)",
  usage:
    "jarvis-data chroma gateway --upstream URL [--listen HOST:PORT] (--token-sha256-file FILE | --token-file FILE)",
  description: [
    "Proxies every request to URL when it carries the token in x-chroma-token or Authorization: Bearer,",
    "and answers 401 otherwise, without reading the body (413 for a body over Chroma's payload limit).",
    "GET /api/v2/heartbeat stays open for healthchecks.",
  ].join("\n"),
  options: GATEWAY_OPTIONS,
  async run(ctx) {
    return serveGateway(gatewaySettings(ctx.options), ctx.log);
  },
});
