/**
 * The reference dataset for backup tests and benchmarks: the stack's real schema (core/migrate
 * applies sql/migrations), then users, conversations, messages and memory entries with 384-d
 * vectors (the HNSW index comes with the migrations). Generated server-side in a few statements.
 *
 * Scale N: 10·N users, 100·N conversations, 5,000·N messages, 500·N memory entries.
 * N = 100 is about 340 MB (the size ENVIRONMENT.md's reference figures were measured on).
 */
import { apply } from "../../core/migrate/index.ts";
import { withClient } from "../../core/pg.ts";

export interface DatasetCounts {
  users: number;
  conversations: number;
  messages: number;
  memories: number;
}

export function datasetCounts(scale: number): DatasetCounts {
  return {
    users: Math.max(3, Math.round(10 * scale)),
    conversations: Math.max(3, Math.round(100 * scale)),
    messages: Math.max(5, Math.round(5000 * scale)),
    memories: Math.max(3, Math.round(500 * scale)),
  };
}

/** Applies the migrations (as a superuser) and loads `scale` worth of rows. */
export async function buildDataset(
  url: string,
  scale: number,
  opts: { seed?: number } = {},
): Promise<DatasetCounts> {
  const n = datasetCounts(scale);
  await withClient(url, async (c) => {
    await apply(c, {});
    await c.query("select setseed($1)", [((opts.seed ?? 42) % 1000) / 1000]);
    await c.query(
      `insert into users (username, email, full_name)
      select 'user_' || g, 'user' || g || '@example.com', 'User ' || g from generate_series(1, $1) g`,
      [n.users],
    );
    // created_at within the last day: the partitions pg_partman made in advance hold them.
    await c.query(
      `insert into conversations (user_id, title, importance, created_at)
      select u.id, 'conversation ' || g, round(random()::numeric, 2), now() - (g % 1000) * interval '1 minute'
        from generate_series(1, $1) g join users u on u.username = 'user_' || (1 + g % $2)`,
      [n.conversations, n.users],
    );
    await c.query(
      `insert into messages (conversation_id, conversation_created_at, role, content, created_at)
      select c.id, c.created_at, case when g % 2 = 0 then 'user' else 'assistant' end,
             'message ' || g || ' ' || md5(g::text) || ' ' || repeat('lorem ipsum dolor sit amet ', 1 + g % 12),
             c.created_at + (g % 600) * interval '1 second'
        from generate_series(1, $1) g
        join (select id, created_at, row_number() over (order by id) as rn from conversations) c on c.rn = 1 + g % $2`,
      [n.messages, n.conversations],
    );
    await c.query(
      `insert into memory_entries (user_id, content, embedding, importance, memory_type, category, tags, metadata)
      select 1 + 0 * g + (select min(id) from users) + g % $2 - 1, 'memory ' || g || ' ' || md5(g::text),
             (select array_agg(random()::real) from generate_series(1, 384) d where d > 0 * g)::vector,
             round(random()::numeric, 2),
             (array['static', 'dynamic', 'episodic'])[1 + g % 3],
             (array['conversations', 'commands', 'preferences', 'patterns', 'knowledge'])[1 + g % 5],
             array['tag' || (g % 7)], jsonb_build_object('n', g)
        from generate_series(1, $1) g`,
      [n.memories, n.users],
    );
    await c.query("analyze");
  });
  return n;
}
