-- Undoes 0103: the application's memory_embeddings view (the memories stay in memory_entries).
SET LOCAL ROLE jarvis_owner;
DROP TRIGGER memory_embeddings_write ON memory_embeddings;
DROP FUNCTION memory_embeddings_write();
DROP VIEW memory_embeddings;
