/**
 * S18 input validation, for the application (and anything else that writes JARVIS data).
 * The database enforces the same rules independently (sql/migrations/0002_core_schema.sql, the
 * CHECK constraints named in each message below), so a row refused here is refused there too
 * when someone bypasses the application; test/validation.test.ts holds both to the same cases.
 */
import { z } from "zod";

/** Title: letters, digits, spaces and `-_.` (conversations_title_charset), at most 255 (conversations_title_max_length). */
export const TITLE_PATTERN = /^[A-Za-z0-9 _.-]+$/;
export const TITLE_MAX = 255;
/** A person's message: 1..10,000 characters (messages_user_content_max_length). */
export const MESSAGE_MAX = 10_000;
/**
 * Script or HTML in a person's message (messages_user_content_no_markup): any tag, a
 * `javascript:` URL, or an inline event handler such as `onclick=`.
 */
export const MARKUP_PATTERN = /(<[^>]*>|javascript:|\bon[a-z0-9_]+\s*=)/i;
/** Memory content: 1..50,000 characters (memory_entries_content_*). */
export const MEMORY_CONTENT_MAX = 50_000;
/** At most 10 tags (memory_entries_tags_max_count) of 1..50 of [A-Za-z0-9_-] (memory_entries_tags_format). */
export const TAG_PATTERN = /^[A-Za-z0-9_-]{1,50}$/;
export const TAGS_MAX = 10;
export const MEMORY_TYPES = ["static", "dynamic", "episodic"] as const;
/** S15's retention categories. */
export const MEMORY_CATEGORIES = [
  "conversations",
  "commands",
  "preferences",
  "patterns",
  "knowledge",
] as const;
export const EMBEDDING_DIMENSIONS = 384;

/** Character count as PostgreSQL's char_length counts it (code points, not UTF-16 units). */
export const charLength = (s: string): number => [...s].length;

const importance = z
  .number()
  .min(0, { message: "importance must be between 0 and 1" })
  .max(1, { message: "importance must be between 0 and 1" });

export const conversationCreateSchema = z.strictObject({
  user_id: z.number().int().positive({ message: "user_id must be a positive integer" }),
  title: z
    .string()
    .max(TITLE_MAX, { message: `title is longer than ${TITLE_MAX} characters` })
    .regex(TITLE_PATTERN, { message: "title may hold only letters, digits, spaces and - _ ." })
    .optional(),
  initial_message: z
    .string()
    .min(1, { message: "initial_message is empty" })
    .refine((v) => charLength(v) <= MESSAGE_MAX, {
      message: `initial_message is longer than ${MESSAGE_MAX} characters`,
    })
    .refine((v) => !MARKUP_PATTERN.test(v), { message: "initial_message contains script or HTML" }),
  importance: importance.default(0.5),
});
export type ConversationCreate = z.infer<typeof conversationCreateSchema>;

export const memoryEntrySchema = z.strictObject({
  content: z
    .string()
    .min(1, { message: "content is empty" })
    .refine((v) => charLength(v) <= MEMORY_CONTENT_MAX, {
      message: `content is longer than ${MEMORY_CONTENT_MAX} characters`,
    }),
  metadata: z.record(z.string(), z.unknown()).default({}),
  importance: importance.default(0.5),
  tags: z
    .array(
      z.string().regex(TAG_PATTERN, { message: "a tag is 1 to 50 characters of letters, digits, _ and -" }),
    )
    .max(TAGS_MAX, { message: `at most ${TAGS_MAX} tags` })
    .default([]),
  memory_type: z.enum(MEMORY_TYPES).default("episodic"),
  category: z.enum(MEMORY_CATEGORIES).default("conversations"),
  embedding: z
    .array(z.number())
    .length(EMBEDDING_DIMENSIONS, { message: `embedding must have ${EMBEDDING_DIMENSIONS} dimensions` })
    .optional(),
});
export type MemoryEntryInput = z.infer<typeof memoryEntrySchema>;
