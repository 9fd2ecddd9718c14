/**
 * Issue 14, section 1: every write the application makes today (the audit's SQLAlchemy models,
 * its Alembic 001 script, memory_system.py, its trigger section) succeeds as jarvis_app on the
 * stack's schema, unchanged; message_count and the audit log (A19) stay right; reads, updates and
 * deletes by conversations.id alone reach every partition through an index.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { withMigratedDb } from "./harness/migrated.ts";
import { useServices } from "./harness/index.ts";

const { postgres } = await useServices("postgres");

function asApp(fn: (app: pg.Client, su: pg.Client) => Promise<void>): Promise<void> {
  return withMigratedDb(postgres, "appw", (su, app) => fn(app, su));
}

const CONV = "0b7f9a52-5a8e-4a43-9d2a-2f7f1d1c0001";

/** The models' inserts: naive timestamps, ids chosen by the client (uuid4), message_count 0. */
async function seedAsOrm(app: pg.Client): Promise<void> {
  await app.query(
    "insert into users (id, username, email, created_at, updated_at) values (7, 'alice', 'alice@exemple.fr', '2025-08-01 10:00:00', '2025-08-01 10:00:00')",
  );
  await app.query(
    "insert into conversations (id, user_id, title, summary, message_count, created_at, ended_at) values ($1, 7, 'Réunion du lundi', null, 0, now(), null)",
    [CONV],
  );
}

test("messages inserted with (conversation_id, role, content) get their conversation's key; message_count follows", async () => {
  await asApp(async (app) => {
    await seedAsOrm(app);
    for (const content of [
      "is 3 < 5 and 7 > 2?",
      "let one = 1",
      'Voici le code : <div onclick="x">',
      "∑ x² 🎉",
    ])
      await app.query("insert into messages (conversation_id, role, content) values ($1, 'user', $2)", [
        CONV,
        content,
      ]);
    const { rows } = await app.query(
      "select m.conversation_created_at = c.created_at as same, m.metadata from messages m join conversations c on c.id = m.conversation_id",
    );
    assert.equal(rows.length, 4);
    assert.ok(rows.every((r) => r.same && JSON.stringify(r.metadata) === "{}"));
    const count = async () =>
      (await app.query("select message_count from conversations where id = $1", [CONV])).rows[0]
        .message_count;
    assert.equal(await count(), 4);
    await app.query("delete from messages where conversation_id = $1 and content = 'let one = 1'", [CONV]);
    assert.equal(await count(), 3);
    // Moving a message by its conversation_id alone: the key follows, and so do both counters.
    const other = await app.query(
      "insert into conversations (user_id, title, created_at) values (7, 'Autre', now() - interval '40 days') returning id, created_at",
    );
    await app.query("update messages set conversation_id = $1 where content = '∑ x² 🎉'", [other.rows[0].id]);
    const moved = await app.query("select conversation_created_at from messages where content = '∑ x² 🎉'");
    assert.deepEqual(moved.rows[0].conversation_created_at, other.rows[0].created_at);
    assert.equal(await count(), 2);
    const otherCount = await app.query("select message_count from conversations where id = $1", [
      other.rows[0].id,
    ]);
    assert.equal(otherCount.rows[0].message_count, 1);
    await assert.rejects(
      app.query(
        "insert into messages (conversation_id, role, content) values ('0b7f9a52-5a8e-4a43-9d2a-2f7f1d1c0999', 'user', 'x')",
      ),
      (e: Error & { code?: string; constraint?: string }) =>
        e.code === "23503" && e.constraint === "messages_conversation_fkey",
    );
  });
});

test("memories with only conversation_id, metadata NULL or JSON null stored as {}, and memory_embeddings as the models write it", async () => {
  await asApp(async (app) => {
    await seedAsOrm(app);
    for (const metadata of [null, "null"]) {
      const { rows } = await app.query(
        "insert into memory_entries (conversation_id, content, metadata) values ($1, 'souvenir', $2::jsonb) returning conversation_created_at is not null as linked, metadata",
        [CONV, metadata],
      );
      assert.deepEqual(rows[0], { linked: true, metadata: {} });
    }
    // MemoryEmbedding: id uuid4, ARRAY(Float) embedding, JSONB metadata (NULL here), importance, naive created_at.
    const emb = Array.from({ length: 384 }, (_, i) => i / 384);
    const id = "5d0c4b1e-3a51-4c7e-8f00-000000000001";
    await app.query(
      "insert into memory_embeddings (id, conversation_id, content, embedding, metadata, importance, created_at) values ($1, $2, 'préférence : café', $3::float8[], null, 0.5, '2025-08-01 10:00:00')",
      [id, CONV, emb],
    );
    const back = await app.query(
      "select embedding, metadata, importance from memory_embeddings where id = $1",
      [id],
    );
    assert.equal(back.rows[0].embedding.length, 384);
    assert.ok(Math.abs(back.rows[0].embedding[100] - 100 / 384) < 1e-6);
    assert.deepEqual(back.rows[0].metadata, {});
    await app.query(
      'update memory_embeddings set metadata = \'{"importance": 0.9, "category": "knowledge"}\' where id = $1',
      [id],
    );
    const me = await app.query("select importance, category from memory_entries where id = $1", [id]);
    assert.deepEqual(me.rows[0], { importance: 0.9, category: "knowledge" });
    await assert.rejects(
      app.query(
        "insert into memory_embeddings (content, embedding, created_at) values ('x', array[1,2,3]::float8[], now())",
      ),
      /expected 384 dimensions/,
    );
    await app.query("delete from memory_embeddings where id = $1", [id]);
    assert.equal(
      (await app.query("select count(*)::int as n from memory_entries where id = $1", [id])).rows[0].n,
      0,
    );
  });
});

test("importance in metadata and in the column never disagree; metadata wins when a statement writes both", async () => {
  await asApp(async (app) => {
    await seedAsOrm(app);
    const ins = await app.query(
      "insert into memory_entries (content, metadata, importance) values ('a', '{\"importance\": 0.2}', 0.5) returning id, importance",
    );
    assert.equal(ins.rows[0].importance, 0.2);
    const id = ins.rows[0].id;
    await app.query("update memory_entries set importance = 0.7 where id = $1", [id]);
    const r1 = await app.query(
      "select importance, metadata->'importance' as m from memory_entries where id = $1",
      [id],
    );
    assert.deepEqual(r1.rows[0], { importance: 0.7, m: 0.7 });
    await app.query(
      "update memory_entries set metadata = jsonb_set(metadata, '{importance}', '0.1') where id = $1",
      [id],
    );
    const r2 = await app.query("select importance from memory_entries where id = $1", [id]);
    assert.equal(r2.rows[0].importance, 0.1);
    await assert.rejects(
      app.query("insert into memory_entries (content, metadata) values ('b', '{\"importance\": \"haute\"}')"),
      (e: Error & { constraint?: string }) => e.constraint === "memory_entries_importance_matches_metadata",
    );
    await assert.rejects(
      app.query("insert into memory_entries (content, metadata) values ('b', '{\"importance\": 1.5}')"),
      (e: Error & { constraint?: string }) => e.constraint === "memory_entries_importance_range",
    );
    await app.query("update conversations set metadata = '{\"importance\": 0.3}' where id = $1", [CONV]);
    const c = await app.query("select importance from conversations where id = $1", [CONV]);
    assert.equal(c.rows[0].importance, 0.3);
  });
});

test("the ORM's reads, updates and deletes by conversations.id alone use an index on every partition; the audit log records them", async () => {
  await asApp(async (app, su) => {
    await seedAsOrm(app);
    // Enough rows per partition that a sequential scan would be the planner's choice if no index applied.
    await su.query(`
      insert into conversations (user_id, title, created_at)
      select 7, 'c' || g, now() - make_interval(days => g % 90) from generate_series(1, 20000) g`);
    await su.query("analyze conversations");
    await su.query(
      "insert into messages (conversation_id, role, content) select id, 'user', 'm' from conversations limit 5000",
    );
    await su.query("analyze messages");
    for (const sql of [
      "select * from conversations where id = $1",
      "update conversations set title = 'Réunion — compte rendu' where id = $1",
      "select * from messages where conversation_id = $1",
      "delete from messages where conversation_id = $1",
      "delete from conversations where id = $1",
    ]) {
      const { rows } = await app.query(`explain (format json) ${sql}`, [CONV]);
      const scans: { type: string; rel: string }[] = [];
      const walk = (n: any) => {
        if (n["Relation Name"] && /Scan/.test(n["Node Type"]))
          scans.push({ type: n["Node Type"], rel: n["Relation Name"] });
        for (const k of n.Plans ?? []) walk(k);
      };
      walk(rows[0]["QUERY PLAN"][0].Plan);
      assert.ok(scans.length > 0, sql);
      // An empty partition (no page at all) may be "scanned" for free; any other must use an index.
      const { rows: empty } = await su.query(
        "select relname from pg_class where relpages = 0 and relname = any($1)",
        [scans.map((s) => s.rel)],
      );
      const free = new Set(empty.map((r) => r.relname));
      const seq = scans.filter((s) => !/Index|Bitmap Heap/.test(s.type) && !free.has(s.rel));
      assert.deepEqual(seq, [], `${sql}: partitions read without an index`);
      assert.ok(
        scans.some((s) => /Index/.test(s.type)),
        `${sql}: no index used at all`,
      );
    }
    await app.query("update conversations set title = 'Réunion — compte rendu' where id = $1", [CONV]);
    await app.query("delete from conversations where id = $1", [CONV]);
    const audit = await app.query(
      "select operation, new_values->>'title' as title from audit_log where table_name = 'conversations' and coalesce(new_values, old_values)->>'id' = $1 order by id",
      [CONV],
    );
    assert.deepEqual(audit.rows, [
      { operation: "INSERT", title: "Réunion du lundi" },
      { operation: "UPDATE", title: "Réunion — compte rendu" },
      { operation: "DELETE", title: null },
    ]);
    assert.equal(
      (await app.query("select count(*)::int as n from conversation_keys where id = $1", [CONV])).rows[0].n,
      0,
    );
  });
});
