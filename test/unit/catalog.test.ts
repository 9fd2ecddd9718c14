/** `migrate baseline`'s comparison of catalogue snapshots (core/migrate/catalog.ts): pure. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeDifference, diffCatalogs } from "../../core/migrate/catalog.ts";

const expected = new Map([
  ["table public.users", "table"],
  ["column public.users.email", "text"],
  ["constraint public.users.users_email_format", "CHECK ((email ~ '^x$'::text))"],
  ["function public.f(integer)", "CREATE OR REPLACE FUNCTION public.f(integer) ... body"],
  ["extension vector", ""],
]);

test("a database identical to migrations 1..N has no difference", () => {
  assert.deepEqual(diffCatalogs(expected, new Map(expected)), []);
});

test("missing, unexpected and changed objects are each reported once, sorted, with a readable line", () => {
  const actual = new Map(expected);
  actual.delete("constraint public.users.users_email_format");
  actual.set("column public.users.email", "character varying(255)");
  actual.set("column public.users.nickname", "text");
  actual.set("function public.f(integer)", "CREATE OR REPLACE FUNCTION public.f(integer) ... other body");
  actual.set("extension pg_cron", ""); // extensions the migrations do not create are not judged
  const d = diffCatalogs(expected, actual);
  assert.deepEqual(d.map(describeDifference), [
    "column public.users.email differs: expected text, found character varying(255)",
    "unexpected column public.users.nickname (text)",
    "missing constraint public.users.users_email_format (CHECK ((email ~ '^x$'::text)))",
    "function public.f(integer) has another definition",
  ]);
});
