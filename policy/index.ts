/**
 * CrossGuard policy pack for jarvis-data's backup storage. Run it against any stack:
 *   pulumi preview --policy-pack policy/
 * The policies live in ./policies.ts (unit-tested in test/policy.test.ts); this file only
 * registers them, because `new PolicyPack` starts serving the engine as soon as it runs.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies.ts";

new PolicyPack("jarvis-backup-storage", {
  description:
    "Backup buckets are versioned, encrypted, TLS-only, private, delete-protected, expired only by their lifecycle; writers hold least privilege.",
  enforcementLevel: "mandatory",
  policies,
});
