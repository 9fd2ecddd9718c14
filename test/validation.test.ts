/**
 * A18: the zod validators accept and refuse inputs, and the database, bypassing the application,
 * refuses the same bad inputs with the constraint that encodes the same rule when the rule is
 * integrity (lengths, ranges, empty content, references, tags' shape), and accepts what only the
 * input boundary refuses (a title's characters, markup in a message: migration 0104).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import pg from "pg";
import { apply } from "../core/migrate/index.ts";
import { withClient } from "../core/pg.ts";
import { conversationCreateSchema, memoryEntrySchema } from "../core/validation.ts";
import { createDatabase, useServices } from "./harness/index.ts";

const { postgres } = await useServices("postgres");
const database = await createDatabase(postgres, "valid");
after(() => database.drop());
const url = database.url;
const userId = await withClient(url, async (c) => {
  await apply(c);
  return Number((await c.query("insert into users (username) values ('validator') returning id")).rows[0].id);
});

const GOOD_CONVERSATIONS = [
  {
    user_id: 1,
    title: "Plans for the weekend - v2.1_final",
    initial_message: "Remind me to water the plants at 6 pm, please.",
  },
  { user_id: 1, initial_message: "x" },
  { user_id: 1, title: "a".repeat(255), initial_message: "é".repeat(10_000) },
  {
    user_id: 1,
    initial_message: "if conditions = 3 and a < b, is b > 2 or not?",
  },
  { user_id: 1, title: "Réunion du lundi", initial_message: "is 3 < 5 and 7 > 2?" },
  { user_id: 1, title: "What's the weather?", initial_message: "let one = 1" },
  {
    user_id: 1,
    title: "L’été — bilan 🎉",
    initial_message: "Résous 2x + 3 = 7 ; code : if (a<b) { x = 1; }",
  },
];
const BAD_CONVERSATIONS: { input: Record<string, unknown>; constraint: string | null; why: string }[] = [
  {
    input: { user_id: 0, initial_message: "hi" },
    constraint: "conversations_user_id_fkey",
    why: "user_id must be > 0",
  },
  {
    input: { user_id: -4, initial_message: "hi" },
    constraint: "conversations_user_id_fkey",
    why: "user_id must be > 0",
  },
  {
    input: { user_id: 1, title: "a".repeat(256), initial_message: "hi" },
    constraint: "conversations_title_max_length",
    why: "title too long",
  },
  {
    input: { user_id: 1, title: "Hello <b>", initial_message: "hi" },
    constraint: null,
    why: "title charset",
  },
  {
    input: { user_id: 1, title: "facture\u202Egpj.exe", initial_message: "hi" },
    constraint: null,
    why: "a bidirectional override in a title",
  },
  {
    input: { user_id: 1, title: "", initial_message: "hi" },
    constraint: null,
    why: "empty title",
  },
  {
    input: { user_id: 1, initial_message: "" },
    constraint: "messages_content_not_empty",
    why: "empty message",
  },
  {
    input: { user_id: 1, initial_message: "a".repeat(10_001) },
    constraint: "messages_user_content_max_length",
    why: "message too long",
  },
  {
    input: { user_id: 1, initial_message: "look <script>alert(1)</script>" },
    constraint: null,
    why: "script",
  },
  {
    input: { user_id: 1, initial_message: "click <a href=x>here</a>" },
    constraint: null,
    why: "HTML",
  },
  {
    input: { user_id: 1, initial_message: "go to javascript:alert(1)" },
    constraint: null,
    why: "javascript: URL",
  },
  {
    input: { user_id: 1, initial_message: "img onerror = steal()" },
    constraint: null,
    why: "event handler",
  },
];

const GOOD_MEMORIES = [
  {
    content: "The user prefers tea over coffee.",
    importance: 0.8,
    tags: ["preference", "drinks_hot", "tea-time", "réunion", "été_2025"],
    metadata: { source: "chat" },
  },
  { content: "x", importance: 0, tags: [] },
  {
    content: "y".repeat(50_000),
    importance: 1,
    tags: Array.from({ length: 10 }, (_, i) => `t${i}`.padEnd(50, "z")),
  },
];
const BAD_MEMORIES: { input: Record<string, unknown>; constraint: string | null; why: string }[] = [
  { input: { content: "" }, constraint: "memory_entries_content_not_empty", why: "empty content" },
  {
    input: { content: "y".repeat(50_001) },
    constraint: "memory_entries_content_max_length",
    why: "content too long",
  },
  {
    input: { content: "x", importance: 1.01 },
    constraint: "memory_entries_importance_range",
    why: "importance > 1",
  },
  {
    input: { content: "x", importance: -0.5 },
    constraint: "memory_entries_importance_range",
    why: "importance < 0",
  },
  {
    input: { content: "x", tags: Array.from({ length: 11 }, (_, i) => `t${i}`) },
    constraint: "memory_entries_tags_max_count",
    why: "11 tags",
  },
  {
    input: { content: "x", tags: ["a".repeat(51)] },
    constraint: "memory_entries_tags_shape",
    why: "tag too long",
  },
  {
    input: { content: "x", tags: ["has space"] },
    constraint: "memory_entries_tags_shape",
    why: "tag charset",
  },
  {
    input: { content: "x", tags: ["ok", "a,b"] },
    constraint: null,
    why: "tag with a separator (input policy only)",
  },
  { input: { content: "x", tags: [""] }, constraint: "memory_entries_tags_shape", why: "empty tag" },
  {
    input: { content: "x", metadata: [1, 2] },
    constraint: "memory_entries_metadata_is_object",
    why: "metadata not an object",
  },
];

/** Inserts a conversation create request the way the application would, bypassing validation. */
async function insertConversation(c: pg.Client, input: Record<string, any>): Promise<void> {
  await c.query("begin");
  try {
    const uid = input.user_id === 1 ? userId : input.user_id;
    const conv = await c.query(
      "insert into conversations (user_id, title) values ($1, $2) returning id, created_at",
      [uid, input.title ?? null],
    );
    await c.query(
      "insert into messages (conversation_id, conversation_created_at, role, content) values ($1, $2, 'user', $3)",
      [conv.rows[0].id, conv.rows[0].created_at, input.initial_message],
    );
  } finally {
    await c.query("rollback");
  }
}

async function insertMemory(c: pg.Client, input: Record<string, any>): Promise<void> {
  await c.query("begin");
  try {
    await c.query(
      "insert into memory_entries (content, importance, tags, metadata) values ($1, $2, $3, $4)",
      [input.content, input.importance ?? 0.5, input.tags ?? [], JSON.stringify(input.metadata ?? {})],
    );
  } finally {
    await c.query("rollback");
  }
}

test("the conversation validator accepts good requests, and so does the database", async () => {
  for (const input of GOOD_CONVERSATIONS) {
    const r = conversationCreateSchema.safeParse(input);
    assert.ok(r.success, JSON.stringify(r.error?.issues));
    assert.equal(r.data.importance, 0.5);
    await withClient(url, (c) => insertConversation(c, input));
  }
});

test("the conversation validator refuses bad requests, and the database refuses them with the matching constraint", async () => {
  for (const bad of BAD_CONVERSATIONS) {
    const r = conversationCreateSchema.safeParse(bad.input);
    assert.equal(r.success, false, `zod accepted: ${bad.why}`);
    // Input policy only (constraint null): the database accepts it; integrity: refused by name.
    await withClient(url, (c) =>
      bad.constraint === null
        ? insertConversation(c, bad.input)
        : assert.rejects(insertConversation(c, bad.input), (e: pg.DatabaseError) => {
            assert.equal(e.constraint, bad.constraint, `${bad.why}: ${e.message}`);
            return true;
          }),
    );
  }
  assert.equal(
    conversationCreateSchema.safeParse({ user_id: 1.5, initial_message: "hi" }).success,
    false,
    "user_id is an integer",
  );
  assert.equal(
    conversationCreateSchema.safeParse({ user_id: 1, initial_message: "hi", extra: 1 }).success,
    false,
    "unknown keys are refused",
  );
});

test("the memory validator accepts good entries with defaults, and so does the database", async () => {
  for (const input of GOOD_MEMORIES) {
    const r = memoryEntrySchema.safeParse(input);
    assert.ok(r.success, JSON.stringify(r.error?.issues));
    await withClient(url, (c) => insertMemory(c, input));
  }
  const d = memoryEntrySchema.parse({ content: "x" });
  assert.deepEqual(
    {
      importance: d.importance,
      tags: d.tags,
      metadata: d.metadata,
      memory_type: d.memory_type,
      category: d.category,
    },
    { importance: 0.5, tags: [], metadata: {}, memory_type: "episodic", category: "conversations" },
  );
});

test("the memory validator refuses bad entries, and the database refuses them with the matching constraint", async () => {
  for (const bad of BAD_MEMORIES) {
    const r = memoryEntrySchema.safeParse(bad.input);
    assert.equal(r.success, false, `zod accepted: ${bad.why}`);
    await withClient(url, (c) =>
      bad.constraint === null
        ? insertMemory(c, bad.input)
        : assert.rejects(insertMemory(c, bad.input), (e: pg.DatabaseError) => {
            assert.equal(e.constraint, bad.constraint, `${bad.why}: ${e.message}`);
            return true;
          }),
    );
  }
  assert.equal(
    memoryEntrySchema.safeParse({ content: "x", embedding: [1, 2, 3] }).success,
    false,
    "embedding of 3 dimensions",
  );
  assert.equal(memoryEntrySchema.safeParse({ content: "x", memory_type: "semantic" }).success, false);
});
