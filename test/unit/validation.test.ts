/**
 * A18's input rules at the input boundary (core/validation.ts): hostile input refused, the text a
 * French-speaking user writes accepted. Pure: no server (the database side is test/validation.test.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  conversationCreateSchema,
  decodeEntities,
  emailSchema,
  findMarkup,
  memoryEntrySchema,
  tagSchema,
  titleSchema,
  userMessageSchema,
} from "../../core/validation.ts";

const FRENCH_TITLES = [
  "Réunion du lundi",
  "What's the weather?",
  "L’été à Montréal — bilan",
  "Liste de courses : œufs, crème fraîche, pâtes",
  "Où est passé le « dossier » ?",
  "Rendez-vous chez le médecin (10h30)",
  "Anniversaire de Zoé 🎂",
  "Projet n°2 / phase 1 & 2",
  "Ça va ? Très bien !",
  "東京 旅行",
  "a".repeat(255),
];

const FRENCH_MESSAGES = [
  "is 3 < 5 and 7 > 2?",
  "let one = 1",
  "Peux-tu m'expliquer pourquoi x => x * 2 marche ?",
  "if (a < b && c > d) { return a <= c; }",
  "const m = new Map<string, number>(); // List<String> en Java",
  "Résous 2x + 3 = 7, puis ∑ᵢ i² pour i ≤ 10 ; et √2 ≈ 1,414",
  "Mets un rappel à 18 h — merci ! 😀👍🏽",
  "SELECT * FROM notes WHERE id = 3;",
  "Le mot « online » et l'opération one = two",
  "Tabulations\tet\nretours à la ligne\r\nsont permis",
  "x<y et y>z",
];

const HOSTILE_MESSAGES: [string, string][] = [
  ["<script>alert(1)</script>", "script tag"],
  ["<ScRiPt src=//evil.example/x.js></sCrIpT>", "mixed-case script tag"],
  ["< script >alert(1)</ script >", "spaced script tag"],
  ["<scr<script>ipt>alert(1)</script>", "nested script tag"],
  ["<img src=x onerror=alert(1)>", "img with onerror"],
  ["<svg/onload=alert(1)>", "svg onload without a space"],
  ['<iframe src="javascript:alert(1)">', "iframe"],
  ['<a href="x">clique</a>', "anchor"],
  ["<b>gras</b>", "bold tag"],
  ["<my-widget onclick=x>", "custom element"],
  ["<!-- caché -->", "comment"],
  ["va sur javascript:alert(document.cookie)", "javascript: URL"],
  ["JaVaScRiPt:alert(1)", "mixed-case javascript: URL"],
  ["java\tscript:alert(1)", "tab inside the scheme"],
  ["java&#x09;script:alert(1)", "entity tab inside the scheme"],
  ["javascript&colon;alert(1)", "entity colon"],
  ["&lt;script&gt;alert(1)&lt;/script&gt;", "entity-encoded script tag"],
  ["&#60;img src=x onerror=alert(1)&#62;", "numeric-entity img"],
  ["＜script＞alert(1)＜/script＞", "fullwidth script tag"],
  ["data:text/html;base64,PHNjcmlwdD4=", "data: HTML URL"],
  ["x onerror=alert(1)", "event handler"],
  ["x OnMouseOver = steal()", "mixed-case event handler with spaces"],
  ["hello\u0000world", "NUL"],
  ["bell\u0007", "control character"],
  ["escape \u001b[31m rouge", "ANSI escape"],
  ["c1 \u0085 control", "C1 control"],
];

test("titles: accents, apostrophes, question marks, dashes, punctuation and emoji pass", () => {
  for (const t of FRENCH_TITLES) {
    const r = titleSchema.safeParse(t);
    assert.ok(r.success, `${t}: ${JSON.stringify(r.error?.issues)}`);
  }
});

test("titles: markup, control and bidirectional characters, blank and overlong titles are refused", () => {
  for (const t of [
    "Hello <b>",
    "<script>",
    "titre = x",
    "a`b`",
    "{x}",
    "tab\there",
    "ligne\nnouvelle",
    "nul\u0000",
    "abc\u202Egnp.exe",
    "iso\u2066late",
    "   ",
    "",
    "a".repeat(256),
  ]) {
    assert.equal(titleSchema.safeParse(t).success, false, JSON.stringify(t));
  }
});

test("messages: French text, code, maths, <, >, = and emoji pass", () => {
  for (const m of FRENCH_MESSAGES) {
    assert.equal(findMarkup(m), null, m);
    const r = userMessageSchema.safeParse(m);
    assert.ok(r.success, `${m}: ${JSON.stringify(r.error?.issues)}`);
  }
  assert.ok(
    userMessageSchema.safeParse("é".repeat(10_000)).success,
    "10,000 characters, counted as code points",
  );
  assert.ok(userMessageSchema.safeParse("😀".repeat(10_000)).success, "emoji count one each");
});

test("messages: script tags, HTML, javascript: URLs, event handlers and control characters are refused, obfuscated or not", () => {
  for (const [m, why] of HOSTILE_MESSAGES) {
    assert.equal(userMessageSchema.safeParse(m).success, false, `accepted: ${why}`);
  }
  for (const m of ["", " \n ", "a".repeat(10_001)])
    assert.equal(userMessageSchema.safeParse(m).success, false);
  assert.match(findMarkup("<img src=x onerror=alert(1)>")!, /HTML element/);
  assert.match(findMarkup("java\nscript:x")!, /script URL/);
  assert.match(findMarkup("a onclick=b")!, /event handler/);
});

test("entities decode the way a browser reads them", () => {
  assert.equal(decodeEntities("&lt;b&gt; &#60; &#x3C; &colon; &Tab;"), "<b> < < : \t");
  assert.equal(decodeEntities("&unknown; &#99999999;"), "&unknown; &#99999999;");
});

test("tags: letters of any script, digits, _ and -; 1..50 characters; at most 10", () => {
  for (const t of ["réunion", "été_2025", "tea-time", "東京", "a".repeat(50)])
    assert.ok(tagSchema.safeParse(t).success, t);
  for (const t of ["", "has space", "a,b", "<b>", "a".repeat(51), "tab\t"])
    assert.equal(tagSchema.safeParse(t).success, false, t);
  assert.equal(
    memoryEntrySchema.safeParse({ content: "x", tags: Array.from({ length: 11 }, (_, i) => `t${i}`) })
      .success,
    false,
  );
});

test("emails have the database's shape", () => {
  assert.ok(emailSchema.safeParse("alice@exemple.fr").success);
  for (const e of ["alice", "alice@", "a b@c.fr", "alice@exemple"])
    assert.equal(emailSchema.safeParse(e).success, false, e);
});

test("a conversation create request: good French input passes with defaults, hostile input is refused with a message", () => {
  const ok = conversationCreateSchema.parse({
    user_id: 3,
    title: "Réunion du lundi",
    initial_message: "is 3 < 5?",
  });
  assert.equal(ok.importance, 0.5);
  const bad = conversationCreateSchema.safeParse({
    user_id: 3,
    title: "ok",
    initial_message: "<script>x</script>",
  });
  assert.equal(bad.success, false);
  assert.match(JSON.stringify(bad.error!.issues), /script or HTML/);
  assert.equal(conversationCreateSchema.safeParse({ user_id: 0, initial_message: "x" }).success, false);
});
