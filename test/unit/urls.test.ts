import assert from "node:assert/strict";
import { test } from "node:test";
import { credentialUrl } from "../../settings/urls.ts";

test("a password holding @ : / ? # % survives the connection URL: percent-encoded, decoded back as given", () => {
  const password = "p@ss:w/rd?#%x";
  for (const [scheme, path] of [
    ["postgresql", "jarvis"],
    ["redis", undefined],
  ] as const) {
    const url = new URL(credentialUrl(scheme, "app", password, "postgres", 5432, path));
    assert.equal(decodeURIComponent(url.password), password);
    assert.equal(url.username, "app");
    assert.equal(url.hostname, "postgres");
    assert.equal(url.port, "5432");
    assert.equal(url.pathname, path ? `/${path}` : "");
  }
  // A generated (alphanumeric) password is written as it is: the render does not change.
  assert.equal(credentialUrl("redis", "backup", "Abc123", "redis", 6379), "redis://backup:Abc123@redis:6379");
});
