/** The migration engine: files (files.ts), history (history.ts), lock (lock.ts), engine (engine.ts). */
export * from "./errors.ts";
export * from "./files.ts";
export * from "./history.ts";
export * from "./lock.ts";
export * from "./engine.ts";
export * from "./catalog.ts";
export * from "./baseline.ts";
export * from "./sessions.ts";
export * from "./superuser.ts";
