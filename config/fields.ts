/**
 * The field builders every part of the config schema uses: a cron expression checked by
 * config/cron.ts, a number of days, a fraction, a port, megabytes. One definition each, so a
 * default and its range read the same everywhere.
 */
import { z } from "zod";
import { cronProblem } from "./cron.ts";

export const cron = (def: string) =>
  z
    .string()
    .default(def)
    .superRefine((v, ctx) => {
      const p = cronProblem(v);
      if (p) ctx.addIssue({ code: "custom", message: p });
    });
export const days = (def: number) => z.number().int().min(1).max(36500).default(def);
export const fraction = (def: number) => z.number().min(0).max(1).default(def);
export const port = z.number().int().min(1).max(65535);
export const megabytes = (def: number, min: number) => z.number().int().min(min).default(def);
