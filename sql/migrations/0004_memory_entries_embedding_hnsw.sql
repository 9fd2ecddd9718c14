-- jarvis:no-transaction
-- jarvis:statement-timeout 1h
-- 0004: the HNSW index for cosine similarity search on memory embeddings (S11).
-- Built CONCURRENTLY so that writes to memory_entries go on while it builds (minutes on a large
-- table): that cannot run inside a transaction, hence the header, and one statement only.
-- If it fails it leaves an INVALID index: drop it with
--   DROP INDEX CONCURRENTLY memory_entries_embedding_hnsw_idx;
-- and run `migrate apply` again.
CREATE INDEX CONCURRENTLY memory_entries_embedding_hnsw_idx ON memory_entries
  USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
