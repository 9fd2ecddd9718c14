/**
 * The schema of sql/migrations on a real server: every A17 constraint refuses a bad row and
 * names itself, the cascades, the A19 triggers with real rows, the partitions and the grants.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import pg from "pg";
import { apply } from "../core/migrate/index.ts";
import { withClient } from "../core/pg.ts";
import { createDatabase, useServices } from "./harness/index.ts";

const { postgres } = await useServices("postgres");
const database = await createDatabase(postgres, "schema");
after(() => database.drop());
const url = database.url;
await withClient(url, (c) => apply(c));

async function db<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  return withClient(url, fn);
}

let n = 0;
/** A user and a conversation with a unique name, for one test. */
async function fixture(c: pg.Client) {
  const username = `user_${process.pid}_${++n}`;
  const u = await c.query("insert into users (username, email) values ($1, $2) returning id", [
    username,
    `${username}@example.org`,
  ]);
  const conv = await c.query(
    "insert into conversations (user_id, title) values ($1, 'First chat') returning id, created_at",
    [u.rows[0].id],
  );
  // created_at is timestamptz(3), so this Date (milliseconds) is the exact key messages point at.
  return {
    userId: u.rows[0].id as string,
    username,
    convId: conv.rows[0].id as string,
    convAt: conv.rows[0].created_at as Date,
  };
}

const vec = (dims: number) => `[${Array.from({ length: dims }, (_, i) => (i % 7) / 7).join(",")}]`;

/** Each A17 rule: a statement that breaks it, and the constraint the error must name. */
const BAD_ROWS: {
  rule: string;
  constraint: string;
  sql: (f: Awaited<ReturnType<typeof fixture>>) => [string, unknown[]];
}[] = [
  {
    rule: "username unique",
    constraint: "users_username_key",
    sql: (f) => ["insert into users (username) values ($1)", [f.username]],
  },
  {
    rule: "username at least 3 chars",
    constraint: "users_username_min_length",
    sql: () => ["insert into users (username) values ('ab')", []],
  },
  {
    rule: "email format",
    constraint: "users_email_format",
    sql: () => ["insert into users (username, email) values ('mail_user_x', 'not-an-email')", []],
  },
  {
    rule: "message_count >= 0",
    constraint: "conversations_message_count_non_negative",
    sql: (f) => ["update conversations set message_count = -1 where id = $1", [f.convId]],
  },
  {
    rule: "ended_at >= created_at",
    constraint: "conversations_ended_after_created",
    sql: (f) => [
      "update conversations set ended_at = created_at - interval '1 second' where id = $1",
      [f.convId],
    ],
  },
  {
    rule: "conversation importance in [0, 1]",
    constraint: "conversations_importance_range",
    sql: (f) => ["update conversations set importance = 1.5 where id = $1", [f.convId]],
  },
  {
    rule: "memory content not empty",
    constraint: "memory_entries_content_not_empty",
    sql: () => ["insert into memory_entries (content) values ('')", []],
  },
  {
    rule: "message content not empty",
    constraint: "messages_content_not_empty",
    sql: (f) => [
      "insert into messages (conversation_id, conversation_created_at, role, content) values ($1, $2, 'assistant', '')",
      [f.convId, f.convAt],
    ],
  },
  {
    rule: "memory importance in [0, 1]",
    constraint: "memory_entries_importance_range",
    sql: () => ["insert into memory_entries (content, importance) values ('x', -0.1)", []],
  },
  {
    rule: "memory importance is not NaN",
    constraint: "memory_entries_importance_range",
    sql: () => ["insert into memory_entries (content, importance) values ('x', 'NaN')", []],
  },
  {
    rule: "conversation needs an existing user",
    constraint: "conversations_user_id_fkey",
    sql: () => ["insert into conversations (user_id) values (987654321)", []],
  },
  {
    rule: "message needs an existing conversation",
    constraint: "messages_conversation_fkey",
    sql: (f) => [
      "insert into messages (conversation_id, conversation_created_at, role, content) values (gen_random_uuid(), $1, 'user', 'hi')",
      [f.convAt],
    ],
  },
  {
    rule: "memory needs an existing user",
    constraint: "memory_entries_user_id_fkey",
    sql: () => ["insert into memory_entries (user_id, content) values (987654321, 'x')", []],
  },
  {
    rule: "memory needs an existing conversation",
    constraint: "memory_entries_conversation_fkey",
    sql: (f) => [
      "insert into memory_entries (conversation_id, conversation_created_at, content) values (gen_random_uuid(), $1, 'x')",
      [f.convAt],
    ],
  },
  {
    rule: "memory type is known",
    constraint: "memory_entries_memory_type_valid",
    sql: () => ["insert into memory_entries (content, memory_type) values ('x', 'semantic')", []],
  },
  {
    rule: "memory category is known",
    constraint: "memory_entries_category_valid",
    sql: () => ["insert into memory_entries (content, category) values ('x', 'gossip')", []],
  },
];

for (const bad of BAD_ROWS) {
  test(`the database refuses a row breaking "${bad.rule}" and names ${bad.constraint}`, async () => {
    await db(async (c) => {
      const f = await fixture(c);
      const [sql, params] = bad.sql(f);
      await assert.rejects(c.query(sql, params), (e: pg.DatabaseError) => {
        assert.equal(e.constraint, bad.constraint, e.message);
        assert.ok(e.message.includes(bad.constraint), `the message names the constraint: ${e.message}`);
        return true;
      });
    });
  });
}

test("the embedding must have 384 dimensions: the column type refuses any other", async () => {
  await db(async (c) => {
    await assert.rejects(
      c.query("insert into memory_entries (content, embedding) values ('x', $1)", [vec(3)]),
      (e: pg.DatabaseError) => /expected 384 dimensions, not 3/.test(e.message),
    );
    const ok = await c.query(
      "insert into memory_entries (content, embedding) values ('x', $1) returning vector_dims(embedding) as d",
      [vec(384)],
    );
    assert.equal(ok.rows[0].d, 384);
  });
});

test("deleting a user cascades to conversations, messages and memories; deleting a conversation keeps its memories", async () => {
  await db(async (c) => {
    const f = await fixture(c);
    await c.query(
      "insert into messages (conversation_id, conversation_created_at, role, content) values ($1, $2, 'user', 'hello')",
      [f.convId, f.convAt],
    );
    const mem = await c.query(
      "insert into memory_entries (user_id, conversation_id, conversation_created_at, content) values ($1, $2, $3, 'likes tea') returning id",
      [f.userId, f.convId, f.convAt],
    );
    await c.query("delete from conversations where id = $1", [f.convId]);
    assert.equal(
      (await c.query("select count(*)::int as n from messages where conversation_id = $1", [f.convId]))
        .rows[0].n,
      0,
      "messages cascade",
    );
    const kept = await c.query(
      "select conversation_id, conversation_created_at from memory_entries where id = $1",
      [mem.rows[0].id],
    );
    assert.deepEqual(
      kept.rows,
      [{ conversation_id: null, conversation_created_at: null }],
      "the memory is detached, not deleted",
    );

    const g = await fixture(c);
    await c.query(
      "insert into messages (conversation_id, conversation_created_at, role, content) values ($1, $2, 'user', 'hello')",
      [g.convId, g.convAt],
    );
    await c.query("insert into memory_entries (user_id, content) values ($1, 'x')", [g.userId]);
    await c.query("delete from users where id = $1", [g.userId]);
    const left = await c.query(
      "select (select count(*) from conversations where user_id = $1)::int as conv, (select count(*) from messages where conversation_id = $2)::int as msg, (select count(*) from memory_entries where user_id = $1)::int as mem",
      [g.userId, g.convId],
    );
    assert.deepEqual(left.rows[0], { conv: 0, msg: 0, mem: 0 });
  });
});

test("message_count follows inserts, deletes and moves of messages", async () => {
  await db(async (c) => {
    const f = await fixture(c);
    const g = await fixture(c);
    const count = async (id: string) =>
      (await c.query("select message_count from conversations where id = $1", [id])).rows[0].message_count;
    const ids: string[] = [];
    for (const text of ["one", "two", "three"]) {
      ids.push(
        (
          await c.query(
            "insert into messages (conversation_id, conversation_created_at, role, content) values ($1, $2, 'user', $3) returning id",
            [f.convId, f.convAt, text],
          )
        ).rows[0].id,
      );
    }
    assert.equal(await count(f.convId), 3);
    await c.query("delete from messages where id = $1", [ids[0]]);
    assert.equal(await count(f.convId), 2);
    await c.query("update messages set conversation_id = $1, conversation_created_at = $2 where id = $3", [
      g.convId,
      g.convAt,
      ids[1],
    ]);
    assert.equal(await count(f.convId), 1);
    assert.equal(await count(g.convId), 1);
    await c.query("update messages set content = 'edited' where id = $1", [ids[2]]);
    assert.equal(await count(f.convId), 1, "an edit is not a move");
  });
});

test("audit_log records inserts, updates and deletes on users and conversations with old and new values", async () => {
  await db(async (c) => {
    const f = await fixture(c);
    await c.query("update users set email = 'new@example.org' where id = $1", [f.userId]);
    await c.query("update conversations set title = 'Renamed chat' where id = $1", [f.convId]);
    await c.query(
      "insert into messages (conversation_id, conversation_created_at, role, content) values ($1, $2, 'user', 'hello')",
      [f.convId, f.convAt],
    );
    await c.query("delete from users where id = $1", [f.userId]);
    const { rows } = await c.query(
      "select table_name, operation, user_id::text as user_id, old_values, new_values, changed_by from audit_log where user_id = $1 order by id",
      [f.userId],
    );
    assert.deepEqual(
      rows.map((r) => [r.table_name, r.operation]),
      [
        ["users", "INSERT"],
        ["conversations", "INSERT"],
        ["users", "UPDATE"],
        ["conversations", "UPDATE"],
        // the message bumped message_count: not audited (counter only). The user's delete is
        // recorded, then the conversation deleted by the cascade.
        ["users", "DELETE"],
        ["conversations", "DELETE"],
      ],
    );
    const [uIns, cIns, uUpd, cUpd, uDel, cDel] = rows;
    assert.equal(uIns.new_values.username, f.username);
    assert.equal(uIns.old_values, null);
    assert.equal(cIns.new_values.title, "First chat");
    assert.equal(uUpd.old_values.email, `${f.username}@example.org`);
    assert.equal(uUpd.new_values.email, "new@example.org");
    assert.equal(cUpd.old_values.title, "First chat");
    assert.equal(cUpd.new_values.title, "Renamed chat");
    assert.equal(cDel.old_values.message_count, 1);
    assert.equal(cDel.new_values, null);
    assert.equal(uDel.old_values.id, Number(f.userId));
    assert.ok(rows.every((r) => r.user_id === String(f.userId) && r.changed_by === "postgres"));
  });
});

test("conversations and messages are partitioned by month through pg_partman", async () => {
  await db(async (c) => {
    const cfg = await c.query(
      "select parent_table, control, partition_interval, inherit_privileges from partman.part_config order by parent_table",
    );
    assert.deepEqual(cfg.rows, [
      {
        parent_table: "public.conversations",
        control: "created_at",
        partition_interval: "1 mon",
        inherit_privileges: true,
      },
      {
        parent_table: "public.messages",
        control: "created_at",
        partition_interval: "1 mon",
        inherit_privileges: true,
      },
    ]);
    const f = await fixture(c);
    const month = (await c.query("select to_char(date_trunc('month', now()), 'YYYYMMDD') as m")).rows[0].m;
    const where = await c.query("select tableoid::regclass::text as part from conversations where id = $1", [
      f.convId,
    ]);
    assert.equal(where.rows[0].part, `conversations_p${month}`);
    const old = await c.query(
      "insert into conversations (user_id, created_at) values ($1, now() - interval '5 years') returning tableoid::regclass::text as part",
      [f.userId],
    );
    assert.equal(
      old.rows[0].part,
      "conversations_default",
      "a row outside every partition lands in the default one",
    );
  });
});

test("jarvis_app has DML but no DDL and cannot write the audit trail; readonly and backup only read", async () => {
  await db(async (c) => {
    await c.query("begin");
    try {
      await c.query("set local role jarvis_app");
      const u = await c.query("insert into users (username) values ($1) returning id", [
        `app_${process.pid}_${++n}`,
      ]);
      await c.query("update users set full_name = 'App User' where id = $1", [u.rows[0].id]);
      const audited = await c.query("select count(*)::int as n from audit_log where user_id = $1", [
        u.rows[0].id,
      ]);
      assert.equal(audited.rows[0].n, 2, "the audit trigger writes as the owner for the app");
      await c.query("savepoint s");
      await assert.rejects(
        c.query("create table app_made (id bigint)"),
        (e: pg.DatabaseError) => e.code === "42501",
      );
      await c.query("rollback to savepoint s");
      await assert.rejects(
        c.query("insert into audit_log (table_name, operation) values ('users', 'DELETE')"),
        (e: pg.DatabaseError) => e.code === "42501",
      );
      await c.query("rollback to savepoint s");
      await assert.rejects(
        c.query("alter table users add column x text"),
        (e: pg.DatabaseError) => e.code === "42501",
      );
      await c.query("rollback to savepoint s");
      await c.query("reset role");
      await c.query("set local role jarvis_readonly");
      assert.ok((await c.query("select count(*) from memory_entries")).rowCount === 1);
      await assert.rejects(c.query("delete from users"), (e: pg.DatabaseError) => e.code === "42501");
      await c.query("rollback to savepoint s");
      await c.query("reset role");
      await c.query("set local role jarvis_backup");
      const month = (await c.query("select to_char(date_trunc('month', now()), 'YYYYMMDD') as m")).rows[0].m;
      await c.query(`select count(*) from messages_p${month}`); // pg_dump reads partitions directly
      await c.query("select count(*) from audit_log");
    } finally {
      await c.query("rollback");
    }
    const monitor = await c.query("select pg_has_role('jarvis_monitor', 'pg_monitor', 'MEMBER') as m");
    assert.equal(monitor.rows[0].m, true);
    const owners = await c.query(
      "select distinct pg_get_userbyid(relowner) as o from pg_class where relnamespace = 'public'::regnamespace and relname in ('users','conversations','messages','memory_entries','audit_log')",
    );
    assert.deepEqual(owners.rows, [{ o: "jarvis_owner" }]);
  });
});
