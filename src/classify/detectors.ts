import { BIP39_LENGTHS, bip39Words, isValidMnemonic } from './bip39.js';
import { detectInContext, found, liftUnlocksEverything, sentenceAround } from './context-detectors.js';
import { respellNumbers } from './spoken-numbers.js';

/** What a detector found. The value itself is never kept: only where it is and what it is. */
export type FindingKind =
  | 'card_number'
  | 'iban'
  | 'national_id'
  | 'passport'
  | 'driving_licence'
  | 'account_number'
  | 'api_key'
  | 'high_entropy_token'
  | 'private_key'
  | 'seed_phrase'
  | 'credential'
  | 'master_password'
  | 'pin'
  | 'access_code'
  | 'recovery_code'
  | 'security_answer';

export interface Finding {
  readonly kind: FindingKind;
  /** The category this finding alone calls for. */
  readonly category: 'SECRET' | 'ULTRASECRET';
  /** 0–1; at or above `CERTAIN` the finding sets a floor no model can lower. */
  readonly certainty: number;
  /** Offsets of the value in the text (for redaction), never the value. */
  readonly start: number;
  readonly end: number;
  /** A human description for reasoning, e.g. "a card number that passes the Luhn check". */
  readonly label: string;
}

/** Certainty at which a finding is a floor for the final category. */
export const CERTAIN = 0.9;

// ---------------------------------------------------------------------------------------------------------
// Checksums

/** Luhn (mod 10) check over a string of digits. */
export function luhnValid(digits: string): boolean {
  if (!/^\d{2,}$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22,
  CY: 28, CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22,
  GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30,
  KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31,
  MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24,
  SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
}; // biome-ignore format: a table

/** ISO 13616 IBAN check: known country length and mod-97 remainder 1. Spaces are ignored. */
export function ibanValid(input: string): boolean {
  const iban = input.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const expected = IBAN_LENGTHS[iban.slice(0, 2)];
  if (expected !== undefined && expected !== iban.length) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** Words that follow "password is" in talk about passwords rather than in a password. */
const NOT_A_VALUE = new Set(
  `a an the my your his her our their its this that these those same different new old wrong right correct
  incorrect too very so really quite pretty super way still just not no never always also now then
  weak strong long short simple easy hard complicated complex secure insecure safe unsafe good bad terrible
  expired changed reset saved stored written somewhere here there in on at of for with to from by about
  like something nothing anything everything required needed mandatory case sensitive different hidden
  locked blocked compromised leaked stolen forgotten lost impossible annoying ridiculous long-ish
  what which who whose where when how why if because and or but as was is be been being are were will
  supposed going gonna probably maybe definitely literally actually basically stupid dumb silly
  fine ok okay set valid invalid done updated working accepted rejected case-sensitive unique random
  it's its it i you he she we they me him them us one two three four`.split(/\s+/),
);

const stripQuotes = (s: string) => s.replace(/^["'“”‘’`(<[]+|["'“”‘’`)>\],;!?]+$/g, '').replace(/\.+$/, '');

/** A password-like value: has a digit, a symbol, or inner capitals, or is an uncommon word. */
function valueStrength(raw: string): number {
  const v = stripQuotes(raw);
  if (v.length < 3 || v.length > 128) return 0;
  if (NOT_A_VALUE.has(v.toLowerCase())) return 0;
  const hasDigit = /\d/.test(v);
  const hasSymbol = /[^A-Za-z0-9]/.test(v);
  const innerCaps = /[a-z][A-Z]|[A-Z]{2,}[a-z]/.test(v);
  if (hasDigit || hasSymbol || innerCaps) return 0.97;
  return 0.88;
}

// ---------------------------------------------------------------------------------------------------------
// Detectors

/** Card numbers that payment providers publish for testing; they charge nothing and open no account. */
const PUBLIC_TEST_CARDS = new Set([
  '4242424242424242',
  '4111111111111111',
  '4000056655665556',
  '5555555555554444',
  '5105105105105100',
  '2223003122003222',
  '378282246310005',
  '371449635398431',
  '6011111111111117',
  '3056930009020004',
  '4084084084084081',
  '4012888888881881',
]);
/** Words that say a card is being used for testing ("Stripe test card …, any expiry", "sandbox checkout"). */
const TEST_CARD_CONTEXT =
  /\b(?:test(?:ing)? (?:card|cards|mode|number|numbers|env\w*|checkout|payments?)|sandbox|demo|dummy|fake|sample|placeholder|documentation|(?:in|from|per) (?:the|their) docs?)\b/i;

function detectCards(text: string, out: Finding[]): void {
  const re = /(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])/g;
  for (const m of text.matchAll(re)) {
    // The greedy match can swallow the expiry or the CVV after the number ("4111 1111 1111 1111 09/27"): drop
    // trailing groups until the digits pass the Luhn check or are too few to be a card.
    let candidate = m[0];
    let digits = candidate.replace(/[ -]/g, '');
    while (!luhnValid(digits) && /[ -]\d{1,4}$/.test(candidate) && digits.length > 13) {
      candidate = candidate.replace(/[ -]\d{1,4}$/, '');
      digits = candidate.replace(/[ -]/g, '');
    }
    if (digits.length < 13 || digits.length > 19 || !luhnValid(digits)) continue;
    if (/^(\d)\1+$/.test(digits)) continue;
    const context = /\b(card|visa|mastercard|amex|debit|credit|cc|cvv|expir)/i.test(text);
    out.push(
      found(
        'card_number',
        'SECRET',
        context ? 0.98 : 0.92,
        m.index,
        m.index + candidate.length,
        'a card number that passes the Luhn check',
      ),
    );
  }
  // "cvv 123", "security code on the back is 123"
  for (const m of text.matchAll(/\b(?:cvv|cvc|cv2|card security code)\b\W{0,3}(?:is|:|=|number)?\s*(\d{3,4})\b/gi)) {
    out.push(found('card_number', 'SECRET', 0.95, m.index, m.index + m[0].length, 'a card security code'));
  }
}

function detectIbans(text: string, out: Finding[]): void {
  const re = /\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30}\b/g;
  for (const m of text.matchAll(re)) {
    if (!/^[A-Z]{2}/.test(m[0]) && !/\biban\b/i.test(text)) continue;
    // Booking references look like IBANs ("PO4481273"); only real country codes count.
    if (IBAN_LENGTHS[m[0].slice(0, 2).toUpperCase()] === undefined) continue;
    // Trim trailing words the greedy match swallowed ("DE89 3704 0044 0532 0130 00 for rent").
    let candidate = m[0];
    while (candidate.length > 15 && !ibanValid(candidate)) candidate = candidate.replace(/\s*\S$/, '');
    if (!ibanValid(candidate)) continue;
    out.push(found('iban', 'SECRET', 0.97, m.index, m.index + candidate.length, 'an IBAN with a valid mod-97 check'));
  }
}

const ID_CONTEXT =
  /\b(ssn|social security(?: number| no\.?| #)?|social insurance number|sin|national insurance(?: number)?|nino|national id(?:entity)?(?: card)?(?: number)?|id number|identity number|personal (?:id|identity) number|tax (?:id|file number|number)|tin|tfn|ein|itin|aadhaa?r|pan card|dni|nie|nif|cpf|bsn|personnummer|medicare number|nhs number|health card number|student id|employee id|member(?:ship)? (?:id|number)|nric|fin (?:no\.?|number|#))\b/gi;

function detectIdentifiers(text: string, out: Finding[]): void {
  for (const m of text.matchAll(/(?<![\d-])(\d{3})[- ](\d{2})[- ](\d{4})(?![\d-])/g)) {
    const [area, group, serial] = [m[1]!, m[2]!, m[3]!];
    if (area === '000' || area === '666' || area.startsWith('9') || group === '00' || serial === '0000') continue;
    const ctx = /\b(ssn|social|security)\b/i.test(text);
    out.push(
      found('national_id', 'SECRET', ctx ? 0.98 : 0.85, m.index, m.index + m[0].length, 'a US Social Security number'),
    );
  }
  // UK National Insurance number.
  for (const m of text.matchAll(/\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g)) {
    out.push(found('national_id', 'SECRET', 0.9, m.index, m.index + m[0].length, 'a National Insurance number'));
  }
  for (const ctx of text.matchAll(ID_CONTEXT)) {
    const after = text.slice(ctx.index + ctx[0].length, ctx.index + ctx[0].length + 40);
    const v = /^\W{0,3}(?:(?:is|was|=|:|#|number|no\.?)\s*){0,2}([A-Za-z0-9][A-Za-z0-9 .-]{4,24}[A-Za-z0-9])/i.exec(
      after,
    );
    const value = v?.[1];
    if (!value || (value.match(/\d/g)?.length ?? 0) < 4) continue;
    const start = ctx.index + ctx[0].length + (v?.index ?? 0);
    out.push(found('national_id', 'SECRET', 0.95, start, start + value.length, `an identity number (${ctx[1]})`));
  }
}

function detectDocuments(text: string, out: Finding[]): void {
  const re =
    /\b(passport|driver'?s?'? licen[cs]e|driving licen[cs]e|drivers? licen[cs]e|licen[cs]e|dl|visa|green card|residence permit|id card)\s*(?:number|no\.?|num|#)?\s*(?:is|was|:|=|-)?\s*([A-Z0-9][A-Z0-9-]{5,17})\b/gi;
  for (const m of text.matchAll(re)) {
    const value = m[2]!;
    if ((value.match(/\d/g)?.length ?? 0) < 3) continue;
    const kind: FindingKind = /passport|visa|green card|permit|id card/i.test(m[1]!) ? 'passport' : 'driving_licence';
    const start = m.index + m[0].length - value.length;
    const certainty = /licen[cs]e$/i.test(m[1]!) && !/driv/i.test(m[1]!) ? 0.85 : 0.95;
    out.push(found(kind, 'SECRET', certainty, start, start + value.length, `a ${m[1]!.toLowerCase()} number`));
  }
  // The document named first, its number a few words on: "Passport for the Majorca booking: 583641920", "passport
  // renewed at last. The new number is 559301274". Only a number shaped like a document's (six to ten digits, one
  // or two letters before, one after) and given with "is", ":" or "number".
  const loose =
    /\b(passport|visa|green card|residence permit|work permit|id card)\b[^\n]{0,50}?(?:\b(?:number|no\.?|num)\s*(?:is|was|:|=|-)?|:|\bis)\s*([A-Z]{0,2}\d{6,10}[A-Z]?)(?![\w/:-]|\.\d|\s*(?:am|pm)\b)/gi;
  for (const m of text.matchAll(loose)) {
    const value = m[2]!;
    const start = m.index + m[0].length - value.length;
    if (out.some((f) => f.start <= start && f.end >= start + value.length)) continue;
    out.push(found('passport', 'SECRET', 0.9, start, start + value.length, `a ${m[1]!.toLowerCase()} number`));
  }
}

function detectAccounts(text: string, out: Finding[]): void {
  const re =
    /\b(account|acct|a\/c|routing|sort code|bank account|checking|savings|policy|member|membership|customer|frequent flyer|loyalty)\s*(?:number|no\.?|num|#)\s*(?:is|was|:|=)?\s*([0-9][0-9 -]{4,22}[0-9])\b/gi;
  for (const m of text.matchAll(re)) {
    const value = m[2]!;
    if ((value.match(/\d/g)?.length ?? 0) < 6) continue;
    const start = m.index + m[0].length - value.length;
    const strong = /account|acct|a\/c|routing|sort|checking|savings/i.test(m[1]!);
    out.push(found('account_number', 'SECRET', strong ? 0.95 : 0.85, start, start + value.length, 'an account number'));
  }
}

const KEY_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bsk-(?:proj-|ant-|live-)?[A-Za-z0-9_-]{20,}/g, 'an API secret key (sk-)'],
  [/\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}/g, 'a payment API key'],
  [/\bgh[pousr]_[A-Za-z0-9]{30,}/g, 'a GitHub token'],
  [/\bgithub_pat_[A-Za-z0-9_]{40,}/g, 'a GitHub token'],
  [/\bglpat-[A-Za-z0-9_-]{20,}/g, 'a GitLab token'],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/g, 'a Slack token'],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, 'an AWS access key'],
  [/\bAIza[0-9A-Za-z_-]{35}/g, 'a Google API key'],
  [/\bnpm_[A-Za-z0-9]{36}\b/g, 'an npm token'],
  [/\bhf_[A-Za-z0-9]{30,}/g, 'a Hugging Face token'],
  [/\bSG\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/g, 'a SendGrid key'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, 'a JSON Web Token'],
  [/\b\d{8,10}:[A-Za-z0-9_-]{35}\b/g, 'a Telegram bot token'],
  [/\bhv[sbr]\.[A-Za-z0-9_-]{20,}/g, 'a HashiCorp Vault token'],
];

/**
 * A long hex or random-looking string named as something meant to be shown: a transaction id or hash, a file's
 * checksum, a commit, a receiving address, or a documented example. What opens nothing is no secret.
 */
const PUBLIC_BEFORE =
  /\b(?:tx(?:id| ?hash)?|txn|transaction(?: id| hash)?|hash|sha-?(?:1|256|512)?|md5|checksum|digest|commit|receiv(?:e|ing) address|deposit address|donations? address|public (?:address|key)|pubkey|example|sample|dummy|placeholder|rfc|spec|docs?)\b[^.\n]{0,30}$/i;
const PUBLIC_AFTER = /^[^.\n]{0,40}\b(?:is|it'?s) (?:public|their public example|an? example|from the docs|fake)\b/i;

function publicValue(text: string, at: number): boolean {
  const before = text.slice(Math.max(0, at - 60), at);
  const after = text.slice(at).replace(/^\S+/, '');
  return PUBLIC_BEFORE.test(before) || PUBLIC_AFTER.test(after);
}

/**
 * Keys printed in vendors' public documentation and tutorials, copied everywhere: Stripe's sample test keys. They
 * open no account of the person's, so a message quoting them is not sealed for them.
 */
const PUBLISHED_SAMPLE_KEYS = new Set([
  'sk_test_4eC39HqLyjWDarjtT1zdp7dc',
  'pk_test_TYooMQauvdEDq54NiTphI7jx',
  'sk_test_BQokikJOvBiI2HlWgH4olfQ2',
  'pk_test_6pRNASCoBOKtIshFeQd4XMUh',
]);

function detectKeys(text: string, out: Finding[]): void {
  for (const [re, label] of KEY_PATTERNS) {
    for (const m of text.matchAll(re)) {
      // Vendors' documented placeholders ("AKIAIOSFODNN7EXAMPLE", Stripe's published sample keys) open nothing.
      if (/EXAMPLE|XXXXXXXX/i.test(m[0]) || PUBLISHED_SAMPLE_KEYS.has(m[0])) continue;
      out.push(found('api_key', 'SECRET', 0.97, m.index, m.index + m[0].length, label));
    }
  }
  for (const m of text.matchAll(/-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----/g)) {
    const end = text.indexOf('-----END', m.index);
    // A header quoted in prose ("the `-----BEGIN …` in the fixtures") carries no key material.
    const body = text.slice(m.index + m[0].length, end < 0 ? text.length : end);
    if (!/^\s*[A-Za-z0-9+/=]{8,}/.test(body)) continue;
    out.push(
      found('private_key', 'ULTRASECRET', 0.99, m.index, end < 0 ? text.length : end, 'a PEM private key block'),
    );
  }
  const keyContext = /\b(private key|priv ?key|secret key|wallet|seed|master key|signing key|metamask|ledger|xprv)\b/i;
  for (const m of text.matchAll(/\b(?:0x)?[0-9a-fA-F]{64}\b/g)) {
    const ctx = keyContext.test(text);
    if (!ctx && publicValue(text, m.index)) continue;
    out.push(
      found(
        ctx ? 'private_key' : 'high_entropy_token',
        ctx ? 'ULTRASECRET' : 'SECRET',
        ctx ? 0.97 : 0.8,
        m.index,
        m.index + m[0].length,
        ctx ? 'a 256-bit private key in hex' : 'a 64-digit hex string',
      ),
    );
  }
  for (const m of text.matchAll(/\b(?:xprv|tprv)[1-9A-HJ-NP-Za-km-z]{100,112}\b/g)) {
    out.push(found('private_key', 'ULTRASECRET', 0.99, m.index, m.index + m[0].length, 'an extended private key'));
  }
  for (const m of text.matchAll(/\b[5KL][1-9A-HJ-NP-Za-km-z]{50,51}\b/g)) {
    out.push(found('private_key', 'ULTRASECRET', 0.9, m.index, m.index + m[0].length, 'a WIF private key'));
  }
  // Long random-looking tokens: mixed classes and high entropy, not a URL or a word.
  const covered = (i: number) => out.some((f) => i >= f.start && i < f.end);
  for (const m of text.matchAll(/(?<![\w/.@-])[A-Za-z0-9_+/=-]{20,}(?![\w/@])/g)) {
    const tok = m[0];
    if (covered(m.index) || /EXAMPLE/.test(tok) || PUBLISHED_SAMPLE_KEYS.has(tok) || publicValue(text, m.index))
      continue;
    const classes = [/[a-z]/, /[A-Z]/, /\d/].filter((r) => r.test(tok)).length;
    if (classes < 2 || !/\d/.test(tok)) continue;
    const h = shannonEntropy(tok);
    if (h < 3.6) continue;
    const ctx = /\b(key|token|secret|api|bearer|credential|password|auth)\b/i.test(text);
    out.push(
      found(
        'high_entropy_token',
        'SECRET',
        ctx ? 0.93 : 0.8,
        m.index,
        m.index + tok.length,
        'a long random-looking token',
      ),
    );
  }
}

const SEED_CONTEXT =
  /\b(seed|bitcoin|btc|crypto|ethereum|eth|mnemonic|recovery (?:phrase|words|seed)|secret phrase|backup (?:phrase|words)|wallet|metamask|ledger|trezor|words|(?:12|18|24|twelve|eighteen|twenty[- ]four)[- ]?words?)\b/i;

/**
 * What makes a few list words in a row part of a phrase: a wallet or seed named, or words counted out of a phrase
 * ("words 13 to 24", "the first six of the twenty four words"). Not "words" alone ("words I love: ocean river …").
 */
const PARTIAL_SEED_CONTEXT =
  /\b(?:seed|bitcoin|btc|crypto|ethereum|eth|mnemonic|recovery|secret phrase|backup (?:phrase|words)|wallet|metamask|ledger|trezor|coldcard|(?:12|18|24|twelve|eighteen|twenty[- ]four)[- ]?words?|words (?:\d+|one|six|seven|twelve|thirteen) (?:to|-|–|through|thru|till|tae)|of the (?:12|24|twelve|twenty[- ]four))\b/i;

/** Every one-character deletion of every list word, built once: "is w one edit from a list word" in O(|w|). */
let deletionIndex: Set<string> | undefined;
const deletions = (w: string) => Array.from({ length: w.length }, (_, i) => w.slice(0, i) + w.slice(i + 1));

/** Whether `w` is one insertion, deletion or substitution away from a BIP-39 word. */
function nearSeedWord(w: string, list: ReadonlyMap<string, number> | ReadonlySet<string>): boolean {
  if (!deletionIndex) {
    deletionIndex = new Set();
    for (const word of list.keys()) for (const d of deletions(word)) deletionIndex.add(d);
  }
  // A list word lost a letter (w is a deletion of it), or w has an extra letter, or one letter differs.
  if (deletionIndex.has(w)) return true;
  for (const d of deletions(w)) if (list.has(d) || deletionIndex.has(d)) return true;
  return false;
}

/** A list word, or — in a message that talks about seed phrases — a word one typo away from one. */
function seedWordMatcher(text: string): (word: string) => boolean {
  const list = bip39Words();
  if (!SEED_CONTEXT.test(text)) return (w) => list.has(w);
  return (w) => list.has(w) || (w.length >= 3 && w.length <= 9 && nearSeedWord(w, list));
}

function detectSeedPhrase(text: string, out: Finding[]): void {
  const list = bip39Words();
  const isSeedWord = seedWordMatcher(text);
  const tokens = [...text.matchAll(/[A-Za-z]+/g)];
  let runStart = 0;
  const flush = (endExclusive: number) => {
    let run = tokens.slice(runStart, endExclusive);
    // Near-miss words ("are" ~ "area", "says" ~ "say") also join the sentence around a phrase to it: keep the
    // longest stretch with at most two of them, then drop near-misses at its edges.
    const miss = run.map((t) => !list.has(t[0].toLowerCase()));
    let bestLo = 0;
    let bestHi = 0;
    for (let lo = 0, hi = 0, misses = 0; hi < run.length; hi++) {
      if (miss[hi]) misses++;
      while (misses > 2) if (miss[lo++]) misses--;
      if (hi + 1 - lo > bestHi - bestLo) [bestLo, bestHi] = [lo, hi + 1];
    }
    run = run.slice(bestLo, bestHi);
    while (run.length > 0 && !list.has(run[0]![0].toLowerCase())) run = run.slice(1);
    while (run.length > 0 && !list.has(run[run.length - 1]![0].toLowerCase())) run = run.slice(0, -1);
    const words = run.map((t) => t[0].toLowerCase());
    const exact = words.filter((w) => list.has(w)).length;
    if (run.length < 12) {
      // Part of a phrase ("words 13 to 24: fossil ladder pepper …", "the first six are …"): six or more list
      // words in a row in a message about seeds or wallets. In the corpus all 140 such messages were ULTRASECRET
      // (five in a row: 159 of 161); without the context, a run of list words is ordinary prose.
      if (run.length >= 6 && exact === run.length && PARTIAL_SEED_CONTEXT.test(text)) {
        const first = run[0]!;
        const last = run[run.length - 1]!;
        out.push(
          found('seed_phrase', 'ULTRASECRET', 0.93, first.index, last.index + last[0].length, 'part of a seed phrase'),
        );
      }
      return;
    }
    // Typo-tolerant runs need context and at most two near-misses.
    if (exact < words.length - 2) return;
    let valid = false;
    // A phrase sits near the start of its run ("seed: w1 … w12"); checking a few offsets bounds the hashing.
    for (const n of BIP39_LENGTHS) {
      for (let i = 0; i + n <= words.length && i <= 8 && !valid; i++) valid = isValidMnemonic(words.slice(i, i + n));
    }
    const ctx = SEED_CONTEXT.test(text);
    const first = run[0]!;
    const last = run[run.length - 1]!;
    const certainty = valid ? 0.99 : ctx ? 0.96 : 0.85;
    out.push(
      found(
        'seed_phrase',
        'ULTRASECRET',
        certainty,
        first.index,
        last.index + last[0].length,
        valid ? 'a BIP-39 seed phrase with a valid checksum' : `${run.length} words from the BIP-39 list`,
      ),
    );
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    // Separators allowed between seed words: spaces, commas, numbering ("1. abandon 2. ability").
    const prev = tokens[i - 1];
    const gap = prev ? text.slice(prev.index + prev[0].length, t.index) : '';
    const joined = gap === '' || /^[\s,;.:)\d-]*$/.test(gap);
    const member = isSeedWord(t[0].toLowerCase());
    if (!member || !joined) {
      flush(i);
      runStart = member ? i : i + 1;
    }
  }
  flush(tokens.length);
}

const MASTER =
  /\b(master password|master pass(?:word|phrase)?|1password|bitwarden|lastpass|keepass(?:xc)?|dashlane|password manager|pw manager|pass manager|vault password|keychain password|veracrypt|bitlocker recovery key|filevault recovery key|encryption passphrase|disk encryption (?:password|passphrase|key))\b/i;

/** A game, a treasure hunt or a children's club: a password there is part of the play. */
const GAME =
  /\b(?:games?|treasure hunt|scavenger hunt|escape room|club ?house|(?:kids'?|children'?s|secret|holiday|after-?school|summer) club|den|fort|tent|tree ?house|role-?play)\b/i;
/** Unless the same sentence names an account, a device or a network, where a game's password is a real one. */
const GAME_ACCOUNT =
  /\b(?:login|log-?in|sign-?in|account|app|wi-?fi|online|steam|xbox|playstation|psn|nintendo|switch|console|game ?center|e-?mail|phone|tablet|ipad|laptop|computer|pc|server|bank|netflix|roblox|minecraft|fortnite|discord|door code|alarm|locker|gate)\b/i;

function gamePassword(text: string, start: number, end: number): boolean {
  const sentence = sentenceAround(text, start, end);
  return GAME.test(sentence) && !GAME_ACCOUNT.test(sentence);
}

function detectCredentials(text: string, out: Finding[]): void {
  const master = MASTER.test(text);
  // "my gmail password is hunter2", "changed the wifi pw to X", "password: X", "pass = X"
  const re =
    /\b(pass(?:word|code|phrase)?s?|p[as]{2,4}w[or]{1,3}ds?|passwd|pwd|pw|pword|passw|p\/w|login|credentials?|(?:1password|bitwarden|lastpass|keepass(?:xc)?|dashlane|nordpass|enpass|roboform|proton pass)(?: (?:master|vault|main))?|wi-?fi (?:key|code|pw|pass)|network key|wpa key|code ?words?|codeword|secret word|memorable word)\b([^.\n!?]{0,40}?)(?:\bis\b|\bwas\b|\bare\b|=|:|->|→|\bto\b|\bstill\b|\bit's\b|\bits\b)\s*(?:now\s+|still\s+|just\s+)?(["'“‘`]?[^\s"'“”‘’`]{3,}["'”’`]?)/gi;
  for (const m of text.matchAll(re)) {
    const value = m[3]!;
    let strength = valueStrength(value);
    // Plural keywords ("passwords: make them long") are talk about passwords unless the value looks like one.
    if (strength === 0 || (/s$/i.test(m[1]!) && strength < 0.97)) continue;
    // A plain word that ends the clause ("the netflix password is bluebird") is the password.
    const tail = text.slice(m.index + m[0].length);
    if (strength < 0.97 && /^\s*(?:$|[.!,;)\n]|and\b|but\b|lol\b|haha\b|btw\b)/i.test(tail)) strength = 0.92;
    // A plain word as the password of a children's game or club opens a blanket fort, not an account.
    if (strength < 0.97 && gamePassword(text, m.index, m.index + m[0].length)) continue;
    // "is to", "is for": talk about the password, not the password.
    const between = m[2] ?? '';
    if (/\b(hints?|polic(?:y|ies)|requirements?|rules?|length|manager app|reset link|advice|tips?)\b/i.test(between))
      continue;
    const start = m.index + m[0].length - value.length;
    if (master || /\bmaster\b/i.test(between)) {
      out.push(
        found(
          'master_password',
          'ULTRASECRET',
          Math.max(strength, 0.95),
          start,
          start + value.length,
          'a password-manager master password',
        ),
      );
    } else {
      const wifi = /wi-?fi|network|wpa/i.test(text.slice(Math.max(0, m.index - 12), m.index + m[1]!.length));
      const kind: FindingKind = wifi ? 'access_code' : 'credential';
      out.push(
        found(
          kind,
          'SECRET',
          strength,
          start,
          start + value.length,
          wifi ? 'a wifi password' : 'a password given in context',
        ),
      );
    }
  }
  // A master passphrase of several words: "my 1password master password is correct horse battery staple".
  if (master) {
    const phrase =
      /\b(?:master )?pass(?:word|phrase)\b[^.\n]{0,30}?\b(?:is|was|:|=)\s+((?:[A-Za-z0-9'!@#$%&*-]+[ -]){2,7}[A-Za-z0-9'!@#$%&*-]+)/i.exec(
        text,
      );
    const words = phrase?.[1]?.split(/[ -]/) ?? [];
    if (
      phrase &&
      words[0] &&
      !['and', 'or', 'but', 'what', 'which', 'that', 'how', 'why', 'when', 'is', 'was'].includes(
        words[0].toLowerCase(),
      ) &&
      ![
        'too',
        'very',
        'so',
        'really',
        'not',
        'the',
        'a',
        'my',
        'still',
        'in',
        'on',
        'saved',
        'stored',
        'written',
        'long',
        'hard',
        'easy',
      ].includes(words[0].toLowerCase())
    ) {
      const start = phrase.index + phrase[0].length - phrase[1]!.length;
      out.push(
        found(
          'master_password',
          'ULTRASECRET',
          0.95,
          start,
          start + phrase[1]!.length,
          'a password-manager master passphrase',
        ),
      );
    }
  }
  // "login: alice / s3cret", "username bob password xyz", "user alice pass 1234"
  const pair =
    /\b(?:user(?:name)?|login|email|e-mail|user id)\s*(?:is|:|=)?\s*(\S{2,})\s*(?:\/|,|and|&|\s)\s*(?:(?:pass(?:word)?|pw|pwd)\s*(?:is|:|=)?\s*)?(\S{3,})/gi;
  for (const m of text.matchAll(pair)) {
    if (!/\b(pass(?:word)?|pw|pwd)\b|\//i.test(m[0])) continue;
    const value = m[2]!;
    if (valueStrength(value) === 0) continue;
    // "changed the email password yesterday": the keyword stood where the user name goes, and a plain word after
    // it is the rest of the sentence, not a password.
    if (/^(?:pass(?:word)?|pw|pwd)$/i.test(m[1]!) && /^[a-z]+[.,;!?]?$/.test(value)) continue;
    const start = m.index + m[0].length - value.length;
    out.push(
      found(
        master ? 'master_password' : 'credential',
        master ? 'ULTRASECRET' : 'SECRET',
        0.95,
        start,
        start + value.length,
        'a login and password',
      ),
    );
  }
}

/** Places inside a home where its household keeps things (not hiding places outside). */
const INDOOR_PLACE =
  /\b(?:drawer|hook|cupboard|cabinet|shelf|bowl|wardrobe|closet|desk|dresser|nightstand|bedside|pantry|fridge|kitchen|tv|handbag|purse|pocket|jacket|coat|key ?rack|sideboard|dish|tray|box on|jar)\b/i;

/** Words of an address or a delivery: beside them, six digits after "PIN code" are an Indian postal code. */
const POSTAL_WORDS =
  /\b(?:address|courier|deliver\w*|road|street|nagar|layout|floor|tower|stage|post office|postal|postcode|zip|district|village|town|society|colony|sector|locality|india|bengaluru|bangalore|mumbai|delhi|chennai|hyderabad|pune|kolkata|mysore|kerala|amazon|flipkart)\b/i;

/** Things a badge or brooch pin is worn on. */
const WORN =
  /\b(?:lanyard|lapel|jacket|coat|denim|hat|cap|beanie|bag|backpack|rucksack|scarf|collar|badge|uniform|carhartt|vest|hoodie)\b/i;

function detectCodes(text: string, out: Finding[]): void {
  // PINs: "pin is 8812", "PIN for the debit card: 8812", "pin 4471"
  // An Indian postal PIN code is six digits in an address, not a secret.
  const postal = POSTAL_WORDS.test(text);
  const postalPin = (value: string) => postal && /^[1-9]\d{5}$/.test(value);
  for (const m of text.matchAll(/\bpin(?:\s*(?:code|number|no\.?|#))?\b([^.\n!?\d]{0,30}?)(\d{4,8})\b/gi)) {
    const value = m[2]!;
    if (postalPin(value)) continue;
    // A pin worn or kept as a keepsake ("the pin on my lanyard is from the 2017 event", "union pin from the 2019
    // strike"): the year it came from, not a code.
    if (
      /^(?:19|20)\d\d$/.test(value) &&
      (/\b(?:from|since|in|of)(?:\s+(?:the|a|an))?\s*$/i.test(m[1]!) || WORN.test(m[1]!))
    )
      continue;
    const start = m.index + m[0].length - value.length;
    out.push(found('pin', 'SECRET', 0.97, start, start + value.length, 'a PIN'));
  }
  // Door, gate, alarm, locker, safe codes and lock combinations, in context.
  const place =
    /\b(door|gate|garage|alarm|locker|safe|lockbox|key ?box|keypad|building|entry|entrance|front door|back door|lobby|intercom|buzzer|padlock|bike lock|lock|combination|combo|access|security|unlock|phone unlock|passcode|storage unit|mailbox|office|apartment|condo)\s*(?:code|combo|combination|pin|number)?\b([^.\n!?\d]{0,30}?)(\d[\d -]{2,10}\d#?|\d{3,8}#?)(?!\d)/gi;
  for (const m of text.matchAll(place)) {
    const noun = m[1]!.toLowerCase();
    const rest = m[0].slice(m[1]!.length);
    if (/\b(?:postal|post|zip|area|promo|dress|booking|reservation|confirmation|tracking|order)\s+code\b/i.test(rest))
      continue;
    // "office address pin code 500081": an Indian postal code.
    if (/\bpin\s*code\b/i.test(rest) && postalPin(m[3]!)) continue;
    const coded =
      /\b(code|combo|combination|pin|passcode|keypad)\b/i.test(rest) ||
      /combination|combo|passcode|keypad|lockbox|padlock/.test(noun);
    if (!coded) continue;
    // Street numbers, prices and times are not codes.
    if (
      /\$|€|£|\b(am|pm|minutes|mins|hours|dollars|euros|percent)\b/i.test(
        text.slice(m.index + m[0].length, m.index + m[0].length + 10),
      )
    )
      continue;
    const value = m[3]!;
    const start = m.index + m[0].length - value.length;
    out.push(found('access_code', 'SECRET', 0.95, start, start + value.length, `a ${noun} code`));
  }
  // "the code to the storage unit is 4417", "code for the gate: 2580"
  for (const m of text.matchAll(
    /\b(?:code|combination|combo)\s+(?:to|for|of|on)\s+(?:the|my|our|[\w]+['’]s)?\s*([a-z ]{3,25}?)\s*(?:is|:|=)\s*(\d[\d -]{2,10}\d#?)/gi,
  )) {
    // A postal, zip, promo or booking code told the same way ("postal code for the flat is 31-055").
    if (NOT_ACCESS_CODE_BEFORE.test(text.slice(Math.max(0, m.index - 24), m.index))) continue;
    const value = m[2]!;
    // "postal PIN code for the supplier is 400001", "Mumbai PIN code for our society is 400050".
    if (/\bpin\s*$/i.test(text.slice(Math.max(0, m.index - 6), m.index)) && postalPin(value)) continue;
    const start = m.index + m[0].length - value.length;
    out.push(found('access_code', 'SECRET', 0.95, start, start + value.length, 'an access code'));
  }
  // Codes told in words: "the alarm code is her birthday backwards". The description is the secret.
  for (const m of text.matchAll(
    /\b(alarm|door|gate|garage|safe|locker|keypad|lockbox|key ?box|building|entry|front door|back door|padlock|bike lock)\s+(?:code|combination|combo|pin|passcode)\b[^.\n!?\d:=]{0,30}?(?:\s(?:is|was)\s+|\s*[:=]\s*)([^.\n!?]{3,60})/gi,
  )) {
    const value = m[2]!.trim();
    // "the gate code is broken", "…is on the fridge" still names no code; digits were handled above.
    if (
      /^\d/.test(value) ||
      /^(?:broken|not|no longer|wrong|down|changing|changed|reset|working|easy|hard|new|the same)\b/i.test(value)
    ) {
      continue;
    }
    const start = m.index + m[0].length - m[2]!.length;
    out.push(
      found('access_code', 'SECRET', 0.9, start, start + m[2]!.length, `a ${m[1]!.toLowerCase()} code told in words`),
    );
  }
  // Where a spare key is hidden lets anyone in: "I keep the spare key under the blue flowerpot". A key left *with*
  // someone ("the spare key is with Mrs Ueda next door") is in trusted hands, not hidden (9 of the corpus's 10
  // such messages were filed as facts).
  for (const m of text.matchAll(
    /\b(?:(?:spare|hidden|extra)\s+(?:house\s+|door\s+|front\s+door\s+|flat\s+|car\s+|office\s+|shop\s+|back\s+door\s+|garage\s+)?keys?\b[^.\n]{0,30}?|hide-a-key\b[^.\n]{0,30}?|(?:hide|hid|keep|leave)\s+(?:the|a|my|our)\s+(?:spare\s+)?(?:house\s+|door\s+|car\s+)?keys?\s+|\bkeys?\s+(?:is|are|stays|lives)\s+(?:always\s+)?(?:kept\s+|hidden\s+)?(?=under|beneath|behind|taped))\b(?:under|beneath|behind|inside|in|on top of|above|taped to|taped behind|taped under|at)\s+((?:(?:the|a|my|our|his|her|their)\s+)?[^.\n!?]{2,50})/gi,
  )) {
    const value = m[1]!;
    // "spare keys in case", "extra key at last" are not places.
    if (/^(?:case|stock|mind|hand|last|least|once|all|some|any|time|the moment|the end|home|work)\b/i.test(value))
      continue;
    // "the key is under review": without "spare" or hiding, the place must be a thing ("under the frog statue").
    if (
      !/\b(?:spare|hidden|extra|hide|hid|keep|leave)\b/i.test(m[0]) &&
      !/^(?:the|a|my|our|his|her|their)\s/i.test(value)
    )
      continue;
    // A car's or a shed's spare key on the hook or in a drawer at home is where the household keeps it, not a
    // hiding place that lets a stranger in (the writers filed those as facts); under a flowerpot it still is.
    const indoors = INDOOR_PLACE.test(value);
    if (
      indoors &&
      /\b(?:car|van|truck|bike|motorbike|scooter|shed|garage|mailbox|letterbox|locker|cabinet)\b/i.test(m[0])
    )
      continue;
    const start = m.index + m[0].length - value.length;
    out.push(
      found('access_code', 'SECRET', indoors ? 0.6 : 0.9, start, start + value.length, 'where a spare key is hidden'),
    );
  }
  // Recovery / backup codes for accounts. One account's 2FA backup codes are SECRET (the writers' and the
  // development set's convention); recovery keys, phrases and emergency kits guard more and are ULTRASECRET.
  const recovery =
    /\b(recovery|backup|2fa|two[- ]factor|mfa|otp|authenticator|emergency|scratch)\s*(codes?|keys?|phrase)\b([^\n]{0,40}?)((?=[A-Za-z]{0,9}\d)(?:[A-Za-z0-9]{4,10}[- ]){0,3}[A-Za-z0-9]{4,10})(?![\w-])/gi;
  for (const m of text.matchAll(recovery)) {
    const value = m[4]!;
    if (!/\d/.test(value) || valueStrength(value) === 0) continue;
    const start = m.index + m[0].length - value.length;
    const master = /^(?:key|keys|phrase)$/i.test(m[2]!) || /^emergency$/i.test(m[1]!);
    out.push(
      found(
        'recovery_code',
        master ? 'ULTRASECRET' : 'SECRET',
        0.95,
        start,
        start + value.length,
        master ? 'a recovery key' : 'account recovery codes',
      ),
    );
  }
  // "verification code 482913" (one-time, short-lived, still a key while valid)
  // A booking's confirmation code is a reference, not a key.
  const booking = /\b(?:booking|booked|reservation|appointment|order|flight|ticket|hotel)\b/i.test(text);
  for (const m of text.matchAll(
    /\b(?:verification|confirmation|one[- ]time|login|sms|security)\s+code\b[^\n\d]{0,15}(\d{4,8})\b/gi,
  )) {
    if (booking && /^confirmation/i.test(m[0])) continue;
    const value = m[1]!;
    const start = m.index + m[0].length - value.length;
    out.push(found('access_code', 'SECRET', 0.9, start, start + value.length, 'a one-time code'));
  }
  // Security questions: "my mother's maiden name is X" lets someone reset an account.
  for (const m of text.matchAll(
    /\b(mother'?s maiden name|security (?:question|answer)|first pet'?s name|secret (?:question|answer))\b[^.\n]{0,20}?\b(?:is|was|:)\s*(\S{2,})/gi,
  )) {
    const value = m[2]!;
    if (NOT_A_VALUE.has(stripQuotes(value).toLowerCase())) continue;
    const start = m.index + m[0].length - value.length;
    out.push(found('security_answer', 'SECRET', 0.9, start, start + value.length, 'a security-question answer'));
  }
}

/**
 * Runs every detector over `text`. Findings overlap freely; callers take the most protective certain one.
 * Pure and synchronous; linear in the text length for the sizes people send (inputs are capped upstream).
 */
/** Words before "code" that make it an address, a shop's or a booking's code rather than what opens a door. */
const NOT_ACCESS_CODE_BEFORE =
  /\b(?:zip|post|postal|area|country|dress|promo|promotional|discount|voucher|coupon|referral|booking|reservation|confirmation|tracking|order|reference|ref|tax|sort|swift|routing)\s*$/i;

export function detectSecrets(text: string): Finding[] {
  const out: Finding[] = [];
  detectCards(text, out);
  detectIbans(text, out);
  detectIdentifiers(text, out);
  detectDocuments(text, out);
  detectAccounts(text, out);
  detectKeys(text, out);
  detectSeedPhrase(text, out);
  detectCredentials(text, out);
  detectCodes(text, out);
  detectInContext(text, out);
  // Numbers told in words ("four seven two nine") get the same checks as typed digits.
  const spelled = respellNumbers(text);
  if (spelled.changed) {
    const extra: Finding[] = [];
    const t = spelled.text;
    detectCards(t, extra);
    detectIdentifiers(t, extra);
    detectAccounts(t, extra);
    detectCredentials(t, extra);
    detectCodes(t, extra);
    detectInContext(t, extra);
    for (const f of extra) {
      const start = spelled.map[f.start] ?? 0;
      const end = f.end > 0 ? (spelled.map[f.end - 1] ?? text.length - 1) + 1 : start;
      if (out.some((g) => g.start === start && g.end === end && g.kind === f.kind)) continue;
      out.push({ ...f, start, end, label: `${f.label} (told in words)` });
    }
  }
  const shown = out.filter((f) => !(f.category === 'SECRET' && documentedExample(text, f)));
  return liftUnlocksEverything(text, testCardMessage(text) ? shown.filter((f) => !aboutTheTestCard(text, f)) : shown);
}

/**
 * A value its sentence presents as a documented example or placeholder ("the example key in the API docs is …, the
 * tutorial says so", "the example IBAN from every Finnish bank doc, not real"): it opens nothing. It takes both a
 * word for an example and one for where it is published or that it is not real, and no "not the example".
 */
const EXAMPLE_WORD = /\b(?:examples?|exemple|ejemplo|esempio|beispiel|sample|dummy|placeholder|fake)\b/i;
const PUBLISHED_WORD =
  /\b(?:docs?|documentation|doku|tutorials?|handout|readme|not (?:real|ours|mine)|public(?:ly)?|published|publique|everyone uses|everybody uses)\b/i;
const NOT_EXAMPLE =
  /\bnot (?:the|an?|some|a) (?:example|sample|dummy|placeholder|fake)\b|\b(?:real|live|actual) (?:one|key|password)\b/i;

function documentedExample(text: string, f: Finding): boolean {
  const sentence = sentenceAround(text, f.start, f.end);
  return EXAMPLE_WORD.test(sentence) && PUBLISHED_WORD.test(sentence) && !NOT_EXAMPLE.test(sentence);
}

/**
 * A message about a published test card used for testing: its number, expiry and CVV open nothing. The number
 * alone decides nothing: people's real cards are written in this corpus with test numbers too, so the words
 * around it must say "test".
 */
function testCardMessage(text: string): boolean {
  if (!TEST_CARD_CONTEXT.test(text)) return false;
  const digits = text.replace(/[ -]/g, '');
  return [...PUBLIC_TEST_CARDS].some((card) => digits.includes(card));
}

/** The card's number, or a CVV- or expiry-shaped value, in a test-card message. */
const aboutTheTestCard = (text: string, f: Finding) =>
  f.kind === 'card_number' ||
  (f.kind === 'access_code' &&
    (/^\d{3,4}$|^\d{1,2}\s*\/\s*\d{2,4}$/.test(text.slice(f.start, f.end)) ||
      PUBLIC_TEST_CARDS.has(text.slice(f.start, f.end).replace(/[ -]/g, ''))));

/** The most protective finding at or above `minCertainty`, or undefined. */
export function strongestFinding(findings: readonly Finding[], minCertainty = CERTAIN): Finding | undefined {
  let best: Finding | undefined;
  for (const f of findings) {
    if (f.certainty < minCertainty) continue;
    if (
      !best ||
      (f.category === 'ULTRASECRET' && best.category !== 'ULTRASECRET') ||
      (f.category === best.category && f.certainty > best.certainty)
    ) {
      best = f;
    }
  }
  return best;
}

/**
 * `text` with every finding's value replaced by a placeholder of its kind (`_pin_`, `_seed_phrase_`…).
 * The text model sees this masked form in training and in use, so it learns the context around secrets
 * ("my PIN is _pin_") instead of memorising random values, and no value reaches its features.
 */
export function maskFindings(text: string, findings: readonly Finding[]): string {
  if (findings.length === 0) return text;
  const spans = [...findings].sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  let at = 0;
  for (const f of spans) {
    if (f.end <= at) continue;
    const start = Math.max(f.start, at);
    out += `${text.slice(at, start)} _${f.kind}_ `;
    at = f.end;
  }
  return out + text.slice(at);
}
