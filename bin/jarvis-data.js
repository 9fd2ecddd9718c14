#!/usr/bin/env node
// Entry point of `npx jarvis-data`: loads the TypeScript CLI through tsx (a runtime dependency).
import { register } from "tsx/esm/api";
import { fileURLToPath } from "node:url";

register();
const { main } = await import(fileURLToPath(new URL("../cli/main.ts", import.meta.url)));
process.exitCode = await main(process.argv.slice(2));
