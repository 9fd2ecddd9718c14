-- jarvis:no-transaction
DROP INDEX CONCURRENTLY memory_entries_embedding_hnsw_idx;
