/** The manifest-signing key reaches the ops agent as a secret file, and leaves the stack only as a secret. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderRaw, renderStack } from "../support/render.ts";

for (const stack of ["dev", "prod"]) {
  test(`${stack}: the ops agent signs manifests with the stack's key, given as a secret file`, async () => {
    const rs = await renderStack(stack);
    const agent = rs.find(
      (r) => r.type === "docker:index/container:Container" && r.name === `jarvis-${stack}-ops-agent`,
    );
    assert.ok(agent, "no ops agent container");
    assert.ok(
      agent.inputs.envs.includes("JARVIS_MANIFEST_KEY_FILE=/run/secrets/jarvis/manifest_key"),
      "the agent reads JARVIS_MANIFEST_KEY from a file",
    );
    assert.ok(
      !agent.inputs.envs.some((e: string) => e.startsWith("JARVIS_MANIFEST_KEY=")),
      "never as a value",
    );
    // A secret element makes the whole uploads list secret: the key never shows in the render.
    assert.equal(agent.inputs.uploads, "[secret]");
    assert.ok(!JSON.stringify(rs).includes("mock-generated-jarvis-" + stack + "-secrets-manifestKey"));
    const outputs = JSON.parse((await renderRaw([stack, "--outputs"])).stdout);
    assert.equal(outputs.manifestKey, "[secret]", "the stack output is secret");
  });
}
