/**
 * Redaction at the logger (core/log.ts): each case is a way a secret used to reach a log line or
 * the CLI's output in clear. The secret must not appear; the rest of the line must stay readable.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { createLogger, redactFields, redactText } from "../../core/log.ts";

const PW = "hunter2hunter2";

function leaks(out: string, secret = PW) {
  assert.ok(!out.includes(secret), `the secret leaks: ${out}`);
  assert.ok(out.includes("[secret]"), `the redaction is shown: ${out}`);
}

test("a user:password URL keeps its user, host and path, and loses its password", () => {
  assert.equal(
    redactText(`postgresql://app:${PW}@db:5432/jarvis`),
    "postgresql://app:[secret]@db:5432/jarvis",
  );
});

test("redis://:password@host (no user name) is redacted", () => {
  const out = redactText(`connecting to redis://:${PW}@redis:6379/0`);
  leaks(out);
  assert.equal(out, "connecting to redis://:[secret]@redis:6379/0");
});

test("a password holding '/' or '@' unencoded is redacted whole, and the host survives", () => {
  for (const pw of ["ab/cd/ef12345", "ab@cd@ef12345", "a/b@c:d/e@f"]) {
    const out = redactText(`redis://admin:${pw}@redis:6379 refused`);
    assert.ok(!out.includes("ef12345") && !out.includes("d/e@f"), out);
    assert.equal(out, "redis://admin:[secret]@redis:6379 refused");
  }
});

test("?password=, ?token= and signature parameters in a URL are redacted; other parameters stay", () => {
  const out = redactText(
    `GET https://s3.example.test/b/k?X-Amz-Signature=${PW}&x-id=GetObject and redis://redis:6379/0?password=${PW}&db=2`,
  );
  leaks(out);
  assert.match(out, /x-id=GetObject/);
  assert.match(out, /db=2/);
  assert.match(out, /redis:\/\/redis:6379\/0\?password=\[secret\]/);
});

test("an e-mail address in a URL's query is not taken for credentials", () => {
  const s = "https://alerts.example.test/hook?to=ops@example.test";
  assert.equal(redactText(s), s);
});

test("libpq keyword=value strings lose their password, quoted or not", () => {
  leaks(redactText(`host=db port=5432 user=app password=${PW} dbname=jarvis`));
  const quoted = redactText(`host=db password='${PW} with \\' quote' dbname=jarvis`);
  leaks(quoted);
  assert.ok(!quoted.includes("quote'"), quoted);
  assert.match(quoted, /dbname=jarvis$/);
  leaks(redactText(`PGPASSWORD=${PW} pg_dump -Fd`));
  leaks(redactText(`ran tool --password=${PW} --verbose`));
});

test("an Authorization header in text loses its credentials", () => {
  leaks(redactText(`upstream said: Authorization: Bearer ${PW}`));
  leaks(redactText(`{"authorization":"Basic ${PW}"}`));
  leaks(redactText(`{"password": "${PW}"}`));
});

test("config messages that name a secret key keep their wording", () => {
  const m =
    "jarvis:secrets.alertSmtpPassword: e-mail alerting is configured but the SMTP password is missing: pulumi config set --secret --path 'jarvis:secrets.alertSmtpPassword' ...";
  assert.equal(redactText(m), m);
  assert.equal(redactText("--token-file=/run/secrets/t"), "--token-file=/run/secrets/t");
});

test("arrays and objects under a secret key are redacted whole; authorization fields too", () => {
  const out = redactFields({
    passwords: [PW, "second-secret-xyz"],
    secrets: { postgresApp: PW },
    headers: { authorization: `Bearer ${PW}`, "x-chroma-token": PW, accept: "json" },
    authorization: `Basic ${PW}`,
    rows: 3,
  }) as Record<string, unknown>;
  const s = JSON.stringify(out);
  leaks(s);
  assert.ok(!s.includes("second-secret-xyz"));
  assert.equal((out.headers as Record<string, unknown>).accept, "json");
  assert.equal(out.rows, 3);
});

test("lists of secret names, hashes and file paths are not secrets", () => {
  const v = { secretsProvided: ["postgresApp"], secretKeys: ["jarvis:secrets"], passwordFile: "/run/x" };
  assert.deepEqual(redactFields(v), v);
});

test("the logger redacts messages and fields in text and JSON modes", () => {
  for (const json of [false, true]) {
    const stream = new PassThrough();
    let out = "";
    stream.on("data", (d) => (out += String(d)));
    const log = createLogger({ json, stream });
    log.error(`cannot reach redis://:${PW}@redis:6379`, { passwords: [PW], dsn: `password=${PW}` });
    leaks(out);
  }
});
