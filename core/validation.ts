/**
 * A18 input validation, at the input boundary: the zod validators the application's API (or a
 * gateway in front of it) calls before writing JARVIS data.
 *
 * Two kinds of rules, kept apart (issue 14, section 2):
 *   - integrity (lengths, ranges, empty content, roles, references, 384 dimensions, the email's
 *     shape): the database enforces them too, with the CHECK constraints named below, so a row
 *     refused here is refused there when someone bypasses the application;
 *   - input policy (a title's characters, no script or markup in a person's message, a tag's
 *     characters): here only. The database accepts any ordinary text (migration 0104), because a
 *     CHECK cannot tell "is 3 < 5 and 7 > 2?" from markup without refusing French, code or maths.
 *
 * Every rule is Unicode-aware: "Réunion du lundi", "What's the weather?", "l'été — bilan", emoji,
 * maths and code pass; script tags, HTML elements, `javascript:` URLs, inline event handlers and
 * control characters are refused, in any case and through the usual obfuscations (entities,
 * fullwidth forms, whitespace or NUL inside the scheme).
 */
import { z } from "zod";

/** A title: at most 255 characters (conversations_title_max_length). */
export const TITLE_MAX = 255;
/** A person's message: 1..10,000 characters (messages_user_content_max_length). */
export const MESSAGE_MAX = 10_000;
/** Memory content: 1..50,000 characters (memory_entries_content_*). */
export const MEMORY_CONTENT_MAX = 50_000;
/** At most 10 tags (memory_entries_tags_max_count), each 1..50 characters (memory_entries_tags_shape). */
export const TAGS_MAX = 10;
export const TAG_MAX = 50;
export const MEMORY_TYPES = ["static", "dynamic", "episodic"] as const;
/** A15's retention categories (memory_entries_category_valid). */
export const MEMORY_CATEGORIES = [
  "conversations",
  "commands",
  "preferences",
  "patterns",
  "knowledge",
] as const;
export const EMBEDDING_DIMENSIONS = 384;
/** The email's shape, as users_email_format checks it. */
export const EMAIL_PATTERN = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;

/**
 * A title's characters: letters and marks of any script, digits, spaces, dashes and connector
 * punctuation, the punctuation of ordinary sentences (apostrophes, quotes, question marks...),
 * and emoji. Not `<`, `>`, `=`, backquotes, braces or control characters.
 */
export const TITLE_PATTERN =
  /^(?:[\p{L}\p{M}\p{N}\p{Zs}\p{Pd}\p{Pc}.,;:!?¿¡'’‘"“”«»‹›()[\]&/+#@%…°€$£*~|\p{Extended_Pictographic}]|\u200D|\uFE0F)+$/u;
/** A tag: 1..50 letters, marks or digits of any script, `_` and `-`. */
export const TAG_PATTERN = /^[\p{L}\p{M}\p{N}_-]{1,50}$/u;

/** Whether `s` holds a C0 or C1 control character; tab, line feed and carriage return only if `strict`. */
export function hasControl(s: string, strict = false): boolean {
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if ((cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) && (strict || (cp !== 0x09 && cp !== 0x0a && cp !== 0x0d)))
      return true;
  }
  return false;
}

/** `s` without whitespace, controls and zero-width characters (what a browser skips in a URL scheme). */
function squash(s: string): string {
  return [...s].filter((ch) => !/[\s\u200B-\u200D\uFEFF]/u.test(ch) && !hasControl(ch, true)).join("");
}
/** Bidirectional embeddings, overrides and isolates: they reorder what a title shows. */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;

/** Character count as PostgreSQL's char_length counts it (code points, not UTF-16 units). */
export const charLength = (s: string): number => [...s].length;

/** HTML elements that take attributes or run code, refused as soon as `<name` opens them. */
const ELEMENTS =
  "script|style|iframe|frame|frameset|object|embed|applet|img|image|svg|math|video|audio|source|track|picture|link|meta|base|body|html|head|title|form|input|button|select|option|textarea|label|details|summary|dialog|marquee|template|slot|div|span|table|tr|td|th|tbody|thead|iframe|nav|section|article|header|footer|main|aside|h[1-6]|ul|ol|li|dl|dt|dd|pre|code|blockquote|font|center|br|hr|xmp|plaintext|listing|noscript|noembed|noframes|portal|animate|set|foreignobject|use|isindex|keygen|bgsound|layer|ilayer|xml|xss";
/** Short element names (a, b, i...) that are also maths variables: refused only as a closed tag. */
const SHORT_ELEMENTS =
  "a|b|i|p|q|s|u|em|tt|del|ins|sub|sup|big|small|strong|abbr|cite|mark|kbd|var|bdo|bdi|map|area";
const TAG = new RegExp(`<\\s*/?\\s*(?:${ELEMENTS})(?=[\\s/>]|$)`, "i");
// A browser opens a tag only when a letter follows `<` at once: "a < b && c > d" is no tag.
const SHORT_TAG = new RegExp(`</?(?:${SHORT_ELEMENTS})(?:\\s[^<>]*)?/?>`, "i");
/** A custom element (`<my-widget`), a comment, a CDATA section or a doctype. */
const OTHER_MARKUP = /<\s*[a-z][\w]*-[\w-]*[\s/>]|<!--|<!\[cdata\[|<!doctype|<\?xml/i;
/** Schemes that run code when a link is followed, checked with whitespace and controls removed. */
const SCRIPT_URL =
  /(?:javascript|vbscript|livescript|mocha):|data:(?:text\/html|image\/svg|application\/(?:x-)?javascript)/i;
/** Inline event handlers (`onerror=`, `onclick =`...): the names browsers fire, not any `on...`. */
const EVENT_HANDLER =
  /\bon(?:abort|afterprint|animation\w*|auxclick|before\w+|begin|blur|cancel|canplay\w*|change|click|close|contextmenu|copy|cuechange|cut|dblclick|drag\w*|drop|durationchange|emptied|end|ended|error|focus\w*|formdata|fullscreen\w*|hashchange|input|invalid|key\w+|load\w*|message\w*|mouse\w+|offline|online|page\w+|paste|pause|play\w*|pointer\w+|popstate|progress|ratechange|readystatechange|repeat|reset|resize|scroll\w*|search|seek\w+|select\w*|show|slotchange|stalled|storage|submit|suspend|timeupdate|toggle|touch\w+|transition\w*|unload|volumechange|waiting|wheel)\s*=/i;

/** Decodes the HTML character references an attacker uses to hide `<`, `:` or a tab. */
export function decodeEntities(s: string): string {
  const named: Record<string, string> = {
    lt: "<",
    gt: ">",
    colon: ":",
    tab: "\t",
    newline: "\n",
    quot: '"',
    apos: "'",
    amp: "&",
    sol: "/",
    equals: "=",
    lpar: "(",
    rpar: ")",
  };
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);?/gi, (m, ref: string) => {
    if (ref[0] === "#") {
      const cp = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return named[ref.toLowerCase()] ?? m;
  });
}

/**
 * Why a person's text counts as script or markup, or null when it does not. Checked on the text
 * as sent, with entities decoded, and in compatibility form (NFKC: fullwidth `＜` is `<`).
 */
export function findMarkup(text: string): string | null {
  const views = [text, decodeEntities(text)].flatMap((v) => [v, v.normalize("NFKC")]);
  for (const v of views) {
    if (TAG.test(v) || SHORT_TAG.test(v)) return "an HTML element";
    if (OTHER_MARKUP.test(v)) return "markup (a custom element, comment, CDATA or doctype)";
    if (EVENT_HANDLER.test(v)) return "an inline event handler";
    // Browsers ignore tabs, newlines and other controls inside a URL's scheme: "java\tscript:".
    if (SCRIPT_URL.test(squash(v))) return "a script URL";
  }
  return null;
}

const importance = z
  .number()
  .min(0, { message: "importance must be between 0 and 1" })
  .max(1, { message: "importance must be between 0 and 1" });

/** A conversation's title: 1..255 characters of TITLE_PATTERN, no control or bidi characters. */
export const titleSchema = z
  .string()
  .refine((v) => v.trim().length > 0, { message: "title is empty" })
  .refine((v) => charLength(v) <= TITLE_MAX, { message: `title is longer than ${TITLE_MAX} characters` })
  .refine((v) => !hasControl(v, true), { message: "title contains control characters" })
  .refine((v) => !BIDI_CONTROL.test(v), { message: "title contains bidirectional control characters" })
  .refine((v) => TITLE_PATTERN.test(v.normalize("NFC")), {
    message: "title may hold letters, digits, spaces, punctuation and emoji, not < > = ` { } or symbols",
  });

/** What a person sends: 1..10,000 characters, no control characters, no script or markup. */
export const userMessageSchema = z
  .string()
  .min(1, { message: "message is empty" })
  .refine((v) => v.trim().length > 0, { message: "message is blank" })
  .refine((v) => charLength(v) <= MESSAGE_MAX, {
    message: `message is longer than ${MESSAGE_MAX} characters`,
  })
  .refine((v) => !hasControl(v), { message: "message contains control characters" })
  .superRefine((v, ctx) => {
    const why = findMarkup(v);
    if (why) ctx.addIssue({ code: "custom", message: `message contains script or HTML: ${why}` });
  });

/** A memory tag (memory_entries_tags_shape is looser: the database only refuses spaces and controls). */
export const tagSchema = z.string().refine((v) => TAG_PATTERN.test(v.normalize("NFC")), {
  message: `a tag is 1 to ${TAG_MAX} letters, digits, _ or - (any script)`,
});

/** A user's email, as users_email_format checks it. */
export const emailSchema = z
  .string()
  .max(255, { message: "email is longer than 255 characters" })
  .regex(EMAIL_PATTERN, { message: "email must look like name@example.org" });

export const conversationCreateSchema = z.strictObject({
  user_id: z.number().int().positive({ message: "user_id must be a positive integer" }),
  title: titleSchema.optional(),
  initial_message: userMessageSchema,
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
    .array(tagSchema)
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
