import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../core/errors.ts";
import { stackConfig, stackFilePath } from "../../cli/stack.ts";

test("the stack file: --config, else Pulumi.<stack>.yaml; none named or a missing one is a usage error naming the fix", () => {
  assert.match(stackFilePath("dev", undefined), /Pulumi\.dev\.yaml$/);
  assert.equal(stackFilePath("dev", "Pulumi.prod.yaml"), "Pulumi.prod.yaml");
  assert.throws(
    () => stackFilePath(undefined, undefined),
    (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /name a stack \(dev, prod\) or pass --config FILE/);
      return true;
    },
  );
  assert.throws(
    () => stackFilePath("staging", undefined),
    (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /no config file .*Pulumi\.staging\.yaml; name an existing stack/);
      return true;
    },
  );
});

test("the stack's config, or the schema's defaults for commands that run without a stack", () => {
  assert.equal(stackConfig("prod", undefined).environment, "prod");
  assert.equal(stackConfig(undefined, undefined, { orDefaults: true }).environment, "dev");
  assert.throws(() => stackConfig(undefined, undefined), UsageError);
  assert.throws(() => stackConfig("staging", undefined, { orDefaults: true }), UsageError);
});
