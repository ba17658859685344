import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { plainOpener, type SealContext } from '../../src/ports/sealer.js';
import type { Embeddings, SearchIndex } from '../../src/ports/search.js';
import type { SecurityLevel } from '../../src/core/category.js';
import type { UserId } from '../../src/core/entry.js';
import { decodeIndex, indexPath } from '../../src/search/persist.js';
import { Shard } from '../../src/search/shard.js';
import { generateX25519 } from '../../src/security/crypto-x25519.js';
import { createOpener, createSealer } from '../../src/security/seal.js';
import { createSearchIndex, type SearchIndexOptions } from '../../src/search/search-index.js';
import { createWordVectorEmbeddings } from '../../src/search/word-vectors.js';
import { entry, MemoryVault, OTHER_USER, testOpener, testSealer, USER } from './helpers.js';

const NOW = new Date('2026-11-26T12:00:00.000Z');
const clock = { now: () => NOW };

let dataDir: string;
const indexes: SearchIndex[] = [];

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'memvault-search-'));
});
afterEach(async () => {
  await Promise.all(indexes.splice(0).map((i) => i.close()));
  rmSync(dataDir, { recursive: true, force: true });
});

function make(vault: MemoryVault, extra: Partial<SearchIndexOptions> = {}): SearchIndex {
  const index = createSearchIndex({ vault, dataDir, sealer: testSealer(), clock, saveDelayMs: 10, ...extra });
  indexes.push(index);
  return index;
}

const LIFE = [
  entry('Nadia moved to Oslo last spring and loves her new flat by the fjord', { tags: ['Nadia', 'Oslo'] }),
  entry('Had coffee with Nadia, she talked about her new job at the bank'),
  entry('Called the electrician Marta about the broken kitchen socket', { tags: ['home'] }),
  entry('Bought a used automobile from a dealer in Porto, a blue hatchback'),
  entry('Went hiking in the Serra da Estrela with Sara', { date: '2026-11-21T18:00:00.000Z' }),
  entry('Dinner with Sara at the pizza place near the river', { date: '2026-11-18T20:00:00.000Z' }),
  entry('Dentist appointment moved to Thursday', { date: '2026-03-10T09:00:00.000Z' }),
  entry('Read a book about the history of Lisbon', { date: '2026-03-15T09:00:00.000Z', tags: ['books'] }),
  entry('Paid the water bill and the internet bill'),
  entry('My bank PIN is 4921', { category: 'SECRET' }),
  entry('Therapy session about my anxiety went well', { category: 'CONFIDENTIAL' }),
];

describe('search: finding things', () => {
  it('finds where Nadia lives from a paraphrase', async () => {
    const index = make(new MemoryVault(LIFE));
    const hits = await index.search(USER, { text: 'where does nadia live now' }, testOpener());
    expect(hits[0]?.entry.content).toContain('Nadia moved to Oslo');
    expect(hits[0]?.signals).toContain('entity');
  });

  it('finds the electrician despite a typo', async () => {
    const index = make(new MemoryVault(LIFE));
    const hits = await index.search(USER, { text: 'electrcian' }, testOpener());
    expect(hits[0]?.entry.content).toContain('electrician Marta');
    expect(hits[0]?.signals).toContain('fuzzy');
    expect(hits[0]?.highlighted).toContain('«electrician»');
  });

  it('counts a transposition as one edit: "dentsit" finds the dentist, "nadai" finds Nadia', async () => {
    const index = make(new MemoryVault(LIFE));
    const dentist = await index.search(USER, { text: 'dentsit' }, testOpener());
    expect(dentist[0]?.entry.content).toBe('Dentist appointment moved to Thursday');
    expect(dentist[0]?.signals).toContain('fuzzy');
    const nadia = await index.search(USER, { text: 'nadai oslo' }, testOpener());
    expect(nadia[0]?.entry.content).toContain('Nadia moved to Oslo');
    // A misspelt name still counts as the name: the memory naming her ranks as a memory of her.
    expect(nadia[0]?.signals).toContain('entity');
  });

  it('finds an automobile for "car" by meaning', async () => {
    const index = make(new MemoryVault(LIFE));
    const hits = await index.search(USER, { text: 'car' }, testOpener());
    expect(hits[0]?.entry.content).toContain('automobile');
    expect(hits[0]?.signals).toContain('semantic');
  });

  it('answers a search that only weak neighbours by meaning would match with nothing ("garage")', async () => {
    const index = make(
      new MemoryVault([
        entry('Job interview at the bank went well, they asked about my last project'),
        entry('Went swimming at the gym pool after work'),
        entry('Paid the water bill and the internet bill'),
      ]),
    );
    // The gym memory is "garage"'s closest neighbour by vectors (cosine 0.43), below the measured floor.
    expect(await index.search(USER, { text: 'garage' }, testOpener())).toEqual([]);
  });

  it('shows a neighbour by meaning as "related", never as a match ("locker" → the gym)', async () => {
    const index = make(
      new MemoryVault([
        entry('Job interview at the bank went well, they asked about my last project'),
        entry('Went swimming at the gym pool after work'),
      ]),
    );
    const hits = await index.search(USER, { text: 'locker' }, testOpener());
    expect(hits.map((h) => h.entry.content)).toEqual(['Went swimming at the gym pool after work']);
    expect(hits[0]?.signals).toContain('related');
  });

  it('keeps a close neighbour by meaning that shares no word with the query, marked "related"', async () => {
    const index = make(new MemoryVault([...LIFE, entry('Sold my old bicycle online')]));
    const hits = await index.search(USER, { text: 'bike sale' }, testOpener());
    expect(hits[0]?.entry.content).toBe('Sold my old bicycle online');
    expect(hits[0]?.signals).toContain('related');
    // A hit that carries a word of the query is a match, not "related".
    const direct = await index.search(USER, { text: 'bicycle' }, testOpener());
    expect(direct[0]?.signals).not.toContain('related');
  });

  it('treats an everyday-word tag as a topic, not a name: it earns no entity boost', async () => {
    const index = make(
      new MemoryVault([
        entry('Went to the cinema', { tags: ['family'] }),
        entry('Family lunch on Sunday, the whole family came'),
      ]),
    );
    const hits = await index.search(USER, { text: 'family' }, testOpener());
    expect(hits[0]?.entry.content).toBe('Family lunch on Sunday, the whole family came');
    expect(hits.flatMap((h) => h.signals)).not.toContain('entity');
  });

  it('stems and highlights matched words', async () => {
    const index = make(new MemoryVault(LIFE));
    const hits = await index.search(USER, { text: 'hikes' }, testOpener());
    expect(hits[0]?.entry.content).toContain('hiking');
    expect(hits[0]?.signals).toContain('bm25');
    expect(hits[0]?.highlighted).toBe('Went «hiking» in the Serra da Estrela with Sara');
  });

  it('ranks by relevance and returns at most the limit (50 by default)', async () => {
    const many = Array.from({ length: 80 }, (_, i) => entry(`Walked the dog in the park, day ${i}`));
    const index = make(new MemoryVault(many));
    expect(await index.search(USER, { text: 'dog park' }, testOpener())).toHaveLength(50);
    expect(await index.search(USER, { text: 'dog park', limit: 5 }, testOpener())).toHaveLength(5);
  });

  it('returns nothing for an empty vault or a query of stop words only', async () => {
    const index = make(new MemoryVault([]));
    expect(await index.search(USER, { text: 'pizza' }, testOpener())).toEqual([]);
    const full = make(new MemoryVault(LIFE));
    expect(await full.search(USER, { text: 'the and of' }, testOpener())).toEqual([]);
    expect(await full.search(USER, { text: '' }, testOpener())).toEqual([]);
  });

  it('treats FTS syntax in the query as plain words', async () => {
    const index = make(new MemoryVault(LIFE));
    for (const text of ['"pizza', 'pizza AND NOT', 'keywords : x', 'NEAR(a b)', '*', '^pizza', "o'brien's pizza"]) {
      await expect(index.search(USER, { text }, testOpener())).resolves.toBeInstanceOf(Array);
    }
    const hits = await index.search(USER, { text: 'pizza"' }, testOpener());
    expect(hits[0]?.entry.content).toContain('pizza');
  });

  it('rejects bad input with a validation error', async () => {
    const index = make(new MemoryVault(LIFE));
    await expect(index.search(USER, { text: 'x', limit: 0 }, testOpener())).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
    await expect(index.search(USER, { text: 'x', from: 'not a date' }, testOpener())).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
    await expect(index.search(USER, { text: 'x'.repeat(5000) }, testOpener())).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
    await expect(index.search(USER, { text: 'x', timezone: 'Mars/Olympus' }, testOpener())).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
  });

  it('keeps users apart', async () => {
    const vault = new MemoryVault([...LIFE, entry('Secret garden party plans', { userId: OTHER_USER })]);
    const index = make(vault);
    const mine = await index.search(USER, { text: 'garden party' }, testOpener());
    expect(mine.every((h) => h.entry.userId === USER)).toBe(true);
    const theirs = await index.search(OTHER_USER, { text: 'garden party' }, testOpener());
    expect(theirs.map((h) => h.entry.content)).toEqual(['Secret garden party plans']);
  });
});

describe('search: gating by level', () => {
  it('never shows a SECRET entry without an opener for level 3', async () => {
    const index = make(new MemoryVault(LIFE));
    for (const levels of [[1], [1, 2], [1, 2, 4]] as const) {
      const hits = await index.search(USER, { text: 'bank PIN' }, testOpener(levels));
      expect(hits.map((h) => h.entry.category)).not.toContain('SECRET');
    }
    const unlocked = await index.search(USER, { text: 'bank PIN' }, testOpener([1, 2, 3]));
    expect(unlocked[0]?.entry.category).toBe('SECRET');
  });

  it('forget drops level data until a session that can open it searches again', async () => {
    const vault = new MemoryVault(LIFE);
    const index = make(vault);
    await index.search(USER, { text: 'anxiety' }, testOpener([1, 2]));
    const readsAfterFirst = vault.reads;
    index.forget(USER, [2]);
    // A level-1 session sees nothing of level 2, and the level-2 data was dropped: the next level-2 search reads again.
    expect(await index.search(USER, { text: 'anxiety' }, testOpener([1]))).toEqual([]);
    // The next level-2 search gets it back only through the level-2 key: from the sealed level-2 file (written back
    // by `forget`), opened with that key, not from memory.
    const opened: number[] = [];
    const inner = testOpener([1, 2]);
    const spy = {
      canOpen: inner.canOpen,
      open: (ctx: SealContext, payload: string) => {
        opened.push(ctx.level);
        return inner.open(ctx, payload);
      },
    };
    const again = await index.search(USER, { text: 'anxiety' }, spy);
    expect(again[0]?.entry.category).toBe('CONFIDENTIAL');
    expect(opened).toContain(2);
    expect(vault.reads).toBe(readsAfterFirst);
  });

  it('a lock while a search is under way leaves that search with the levels still open', async () => {
    const base = createWordVectorEmbeddings();
    let release: () => void = () => undefined;
    let gate: Promise<void> | null = null;
    let reached: () => void = () => undefined;
    const atGate = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const embeddings: Embeddings = {
      dimensions: base.dimensions,
      name: base.name,
      async embed(texts) {
        if (gate) {
          reached();
          await gate;
        }
        return base.embed(texts);
      },
    };
    const index = make(new MemoryVault(LIFE), { embeddings });
    await index.search(USER, { text: 'anxiety' }, testOpener([1, 2])); // loads levels 1 and 2
    gate = new Promise((resolve) => {
      release = resolve;
    });
    const pending = index.search(USER, { text: 'anxiety therapy bank' }, testOpener([1, 2]));
    // Locked once the search holds its shards and embeds the query. A fixed 20 ms wait sometimes locked while it
    // still queued behind the first search's write-back (saveDelayMs 10): it then loaded level 2 again.
    await atGate;
    index.forget(USER, [2]);
    release();
    const hits = await pending;
    expect(hits.every((h) => h.entry.level === 1)).toBe(true);
  });

  it('a lock while a search is catching up a level does not close that shard under it', async () => {
    const base = createWordVectorEmbeddings();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reached: () => void = () => undefined;
    const atGate = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const embeddings: Embeddings = {
      dimensions: base.dimensions,
      name: base.name,
      async embed(texts) {
        // Hold the catch-up of level 2 (the therapy note is CONFIDENTIAL) half-way, as a slow endpoint would.
        if (texts.some((t) => t.includes('Therapy'))) {
          reached();
          await gate;
        }
        return base.embed(texts);
      },
    };
    const index = make(new MemoryVault(LIFE), { embeddings });
    const pending = index.search(USER, { text: 'anxiety therapy bank' }, testOpener([1, 2]));
    await atGate;
    index.forget(USER, [2]); // the session locked level 2 meanwhile
    release();
    const hits = await pending; // rejected with better-sqlite3's "database connection is not open" before
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((h) => h.entry.level === 1)).toBe(true);
    // What was forgotten is gone for a session that can no longer open it.
    expect(await index.search(USER, { text: 'anxiety therapy' }, testOpener([1]))).toEqual([]);
  });

  it('restricts to requested levels and categories', async () => {
    const index = make(new MemoryVault(LIFE));
    const opener = testOpener([1, 2, 3]);
    const onlyL1 = await index.search(USER, { text: 'bank', levels: [1] }, opener);
    expect(onlyL1.every((h) => h.entry.level === 1)).toBe(true);
    expect(onlyL1.length).toBeGreaterThan(0);
    const secret = await index.search(USER, { text: 'bank', categories: ['SECRET'] }, opener);
    expect(secret.map((h) => h.entry.category)).toEqual(['SECRET']);
  });
});

describe('search: filters and date phrases', () => {
  it('filters by tag (case-insensitive) and by date range', async () => {
    const index = make(new MemoryVault(LIFE));
    const tagged = await index.search(USER, { text: 'lisbon history', tags: ['BOOKS'] }, testOpener());
    expect(tagged.map((h) => h.entry.tags)).toEqual([['books']]);
    const march = await index.search(
      USER,
      { text: 'dentist', from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' },
      testOpener(),
    );
    expect(march).toHaveLength(1);
    const april = await index.search(USER, { text: 'dentist', from: '2026-04-01T00:00:00Z' }, testOpener());
    expect(april.every((h) => h.entry.date >= '2026-04-01')).toBe(true);
  });

  it('filters on the event date when asked', async () => {
    const e = entry('Concert of the Lisbon orchestra', {
      date: '2026-11-20T10:00:00.000Z',
      eventDate: '2026-06-01T20:00:00.000Z',
    });
    const index = make(new MemoryVault([e]));
    const byEvent = await index.search(
      USER,
      { text: 'concert', dateField: 'eventDate', from: '2026-06-01T00:00:00Z', to: '2026-06-02T00:00:00Z' },
      testOpener(),
    );
    expect(byEvent).toHaveLength(1);
    const byDate = await index.search(
      USER,
      { text: 'concert', from: '2026-06-01T00:00:00Z', to: '2026-06-02T00:00:00Z' },
      testOpener(),
    );
    expect(byDate).toEqual([]);
  });

  it('turns "last weekend" into a filter and lists what happened', async () => {
    const index = make(new MemoryVault(LIFE));
    const hits = await index.search(
      USER,
      { text: 'what did I do last weekend', timezone: 'Europe/Lisbon' },
      testOpener(),
    );
    expect(hits.map((h) => h.entry.content)).toEqual(['Went hiking in the Serra da Estrela with Sara']);
    expect(hits[0]?.signals).toEqual(['date']);
  });

  it('keeps the rest of the text when a date phrase filters ("dinner last week", "in March")', async () => {
    const index = make(new MemoryVault(LIFE));
    const dinner = await index.search(USER, { text: 'dinner with Sara last week' }, testOpener());
    expect(dinner[0]?.entry.content).toBe('Dinner with Sara at the pizza place near the river');
    expect(dinner.every((h) => h.entry.date >= '2026-11-16' && h.entry.date < '2026-11-23')).toBe(true);
    const march = await index.search(USER, { text: 'what did I read in March' }, testOpener());
    expect(march[0]?.entry.content).toContain('history of Lisbon');
    expect(march.every((h) => h.entry.date.startsWith('2026-03'))).toBe(true);
  });

  it('ignores a date phrase that would filter everything out', async () => {
    const index = make(new MemoryVault(LIFE));
    const hits = await index.search(USER, { text: 'pizza yesterday' }, testOpener());
    expect(hits[0]?.entry.content).toContain('pizza');
  });
});

describe('search: keeping current and persisting', () => {
  it('upsert and remove keep a loaded index current', async () => {
    const vault = new MemoryVault(LIFE);
    const base = createWordVectorEmbeddings();
    const embedded: string[] = [];
    const embeddings: Embeddings = {
      dimensions: base.dimensions,
      name: base.name,
      embed(texts) {
        embedded.push(...texts);
        return base.embed(texts);
      },
    };
    const index = make(vault, { embeddings });
    await index.search(USER, { text: 'warmup' }, testOpener());
    const added = entry('Adopted a kitten called Miso');
    vault.put(added);
    await index.upsert(USER, added);
    embedded.length = 0;
    expect((await index.search(USER, { text: 'kitten' }, testOpener()))[0]?.entry.id).toBe(added.id);
    // The search catches up with the vault (the revision moved), but the entry applied by upsert is not
    // indexed again: only the query itself is embedded.
    expect(embedded).toEqual(['kitten']);
    vault.drop(added.id);
    await index.remove(USER, added.id);
    expect(await index.search(USER, { text: 'kitten' }, testOpener())).toEqual([]);
  });

  it('moves an entry between levels when its category changes', async () => {
    const vault = new MemoryVault(LIFE);
    const index = make(vault);
    const opener = testOpener([1, 2, 3]);
    const original = entry('Passport number is X1234567');
    vault.put(original);
    await index.upsert(USER, original);
    await index.search(USER, { text: 'passport' }, opener);
    const moved = entry(original.content, { id: original.id, category: 'SECRET' });
    vault.put(moved);
    await index.upsert(USER, moved);
    expect((await index.search(USER, { text: 'passport' }, testOpener([1]))).length).toBe(0);
    expect((await index.search(USER, { text: 'passport' }, opener))[0]?.entry.level).toBe(3);
  });

  it('catches up with writes it was not told about (stale revision)', async () => {
    const vault = new MemoryVault(LIFE);
    const index = make(vault);
    await index.search(USER, { text: 'pizza' }, testOpener());
    vault.put(entry('Learned to bake sourdough bread'));
    expect((await index.search(USER, { text: 'sourdough' }, testOpener()))[0]?.entry.content).toContain('sourdough');
  });

  it('a write it is told about does not hide writes it was not told about (revision = what the shard reflects)', async () => {
    const vault = new MemoryVault(LIFE);
    const index = make(vault);
    await index.search(USER, { text: 'pizza' }, testOpener([1, 2]));
    // Another process appends twice, then this process writes and tells the index about its own entry only.
    vault.put(entry('Saw a zebra crossing the road'));
    vault.put(entry('Started a course in Japanese calligraphy', { category: 'CONFIDENTIAL' }));
    const own = entry('Lunch with Odette at the market');
    vault.put(own);
    await index.upsert(USER, own);
    expect((await index.search(USER, { text: 'odette' }, testOpener()))[0]?.entry.id).toBe(own.id);
    expect((await index.search(USER, { text: 'zebra' }, testOpener()))[0]?.entry.content).toContain('zebra');
    const hidden = await index.search(USER, { text: 'calligraphy' }, testOpener([1, 2]));
    expect(hidden[0]?.entry.content).toContain('calligraphy');
    // The same for a removal: an entry deleted behind its back does not survive another removal it is told about.
    const gone = vault.entries.find((e) => e.content.includes('zebra'))!;
    vault.drop(gone.id);
    vault.drop(own.id);
    await index.remove(USER, own.id);
    expect(await index.search(USER, { text: 'zebra' }, testOpener())).toEqual([]);
  });

  it('persists level 1 sealed: no plaintext of any entry in the file, and reloads it', async () => {
    const vault = new MemoryVault(LIFE);
    const first = make(vault);
    await first.rebuild(USER, testOpener([1, 2, 3]));
    await first.close();
    const bytes = readFileSync(indexPath(dataDir, USER));
    // Whole phrases: short words turn up in random base64 by chance.
    for (const word of ['Nadia moved', 'electrician', 'automobile', 'anxiety', 'PIN is 4921', 'Estrela']) {
      expect(bytes.includes(Buffer.from(word))).toBe(false);
      expect(bytes.includes(Buffer.from(word.toLowerCase()))).toBe(false);
    }
    const readsBefore = vault.reads;
    const second = make(vault);
    const hits = await second.search(USER, { text: 'electrician' }, testOpener());
    expect(hits[0]?.entry.content).toContain('Marta');
    expect(vault.reads).toBe(readsBefore); // loaded from disk, not rebuilt
  });

  it('never persists levels 3–4; level 2 only sealed, even in plain level-1 mode', async () => {
    const vault = new MemoryVault(LIFE);
    const index = make(vault, { sealer: testSealer(true) });
    await index.search(USER, { text: 'bank anxiety' }, testOpener([1, 2, 3, 4]));
    await index.close();
    const text = readFileSync(indexPath(dataDir, USER), 'utf8');
    expect(text.startsWith('memvault-search-index 1 plain ')).toBe(true);
    const db = Buffer.from(text.slice(text.indexOf('\n') + 1), 'base64');
    expect(db.includes(Buffer.from('electrician'))).toBe(true); // level 1 is plain by choice
    expect(db.includes(Buffer.from('4921'))).toBe(false);
    expect(db.includes(Buffer.from('anxiety'))).toBe(false);
    // Level 2 is sealed in its own file; nothing of level 3 or 4 is anywhere in the folder.
    const level2 = readFileSync(indexPath(dataDir, USER, 2), 'utf8');
    expect(level2.startsWith('memvault-search-index 1 sealed\n')).toBe(true);
    const files = readdirSync(dirname(indexPath(dataDir, USER))).sort();
    expect(files).toEqual([`INDEX.${USER}.level2.sealed`, `INDEX.${USER}.sealed`]);
    const secret = LIFE.find((e) => e.level === 3)!;
    for (const file of files) {
      const bytes = readFileSync(join(dirname(indexPath(dataDir, USER)), file));
      expect(bytes.includes(Buffer.from(secret.id))).toBe(false);
    }
    // Four digits are looked for in what the files hold, opened: the sealed level-2 file is ~58 000 characters of
    // random base64, which holds "4921" by chance about once in 300 runs.
    for (const opened of [db, decodeIndex(USER, level2, testOpener([2]), 2)]) {
      expect(opened.includes(Buffer.from('4921'))).toBe(false);
      expect(opened.includes(Buffer.from(secret.id))).toBe(false);
    }
  });

  it('keeps no level-2 file when the sealer would store level 2 plain', async () => {
    const plainAll = { ...testSealer(true), seals: () => false };
    const index = make(new MemoryVault(LIFE), { sealer: plainAll });
    await index.search(USER, { text: 'anxiety' }, plainOpener([1, 2]));
    await index.close();
    expect(existsSync(indexPath(dataDir, USER))).toBe(true);
    expect(existsSync(indexPath(dataDir, USER, 2))).toBe(false);
  });

  describe('the level-2 index, sealed to the level-2 key (real X25519 sealing)', () => {
    const pairs = new Map<SecurityLevel, { privateKey: Uint8Array; publicKey: Uint8Array }>(
      ([1, 2, 3, 4] as const).map((l) => [l, generateX25519()]),
    );
    const keys = { publicKey: async (_u: UserId, level: SecurityLevel) => pairs.get(level)!.publicKey };
    const sealer = createSealer(keys, { level1Plain: false });
    const opener = (levels: readonly SecurityLevel[]) =>
      createOpener(USER, new Map(levels.map((l) => [l, pairs.get(l)!.privateKey])));
    const therapy = LIFE.find((e) => e.level === 2)!;

    async function written(vault: MemoryVault): Promise<string> {
      const index = make(vault, { sealer });
      expect((await index.search(USER, { text: 'anxiety' }, opener([1, 2])))[0]?.entry.id).toBe(therapy.id);
      await index.close();
      return readFileSync(indexPath(dataDir, USER, 2), 'utf8');
    }

    it('holds no plaintext, term or id of a level-2 entry, and opens only with the level-2 key', async () => {
      const vault = new MemoryVault(LIFE);
      const text = await written(vault);
      const bytes = Buffer.from(text);
      for (const word of ['Therapy', 'therapy', 'anxiety', 'anxieti', 'session', therapy.id, therapy.checksum]) {
        expect(bytes.includes(Buffer.from(word))).toBe(false);
      }
      // Without the level-2 key: locked; with the level-1 key in its place: does not open.
      expect(() => decodeIndex(USER, text, opener([1]), 2)).toThrowError(
        expect.objectContaining({ code: 'SECURITY_ERROR' }),
      );
      const wrongKey = createOpener(USER, new Map([[2, pairs.get(1)!.privateKey]]));
      expect(() => decodeIndex(USER, text, wrongKey, 2)).toThrowError(
        expect.objectContaining({ code: 'DATA_CORRUPTION' }),
      );
      // Moved to the level-1 file name, it does not open as level 1 either (the level is bound in).
      expect(() => decodeIndex(USER, text, opener([1, 2]), 1)).toThrowError(
        expect.objectContaining({ code: 'DATA_CORRUPTION' }),
      );
      // A search without level 2 neither reads nor touches it.
      const locked = make(vault, { sealer });
      expect(await locked.search(USER, { text: 'anxiety' }, opener([1]))).toEqual([]);
      await locked.close();
      expect(readFileSync(indexPath(dataDir, USER, 2), 'utf8')).toBe(text);
    });

    it('is loaded instead of rebuilt while the vault has not moved', async () => {
      const vault = new MemoryVault(LIFE);
      await written(vault);
      const readsBefore = vault.reads;
      const second = make(vault, { sealer });
      const hits = await second.search(USER, { text: 'anxiety' }, opener([1, 2]));
      expect(hits[0]?.entry.id).toBe(therapy.id);
      expect(vault.reads).toBe(readsBefore);
    });

    it('catches up when stale (the vault moved)', async () => {
      const vault = new MemoryVault(LIFE);
      await written(vault);
      vault.put(entry('Couples counselling on Tuesday evenings', { category: 'CONFIDENTIAL' }));
      vault.drop(therapy.id);
      const second = make(vault, { sealer });
      const hits = await second.search(USER, { text: 'counselling' }, opener([1, 2]));
      expect(hits[0]?.entry.content).toContain('Couples counselling');
      expect(await second.search(USER, { text: 'anxiety' }, opener([1, 2]))).toEqual([]);
      await second.close();
      const reopened = Shard.open(decodeIndex(USER, readFileSync(indexPath(dataDir, USER, 2), 'utf8'), opener([2]), 2));
      expect(reopened.size).toBe(1);
      expect(reopened.checksumOf(therapy.id)).toBeUndefined();
      reopened.close();
    });

    it.each([
      ['garbage', (t: string) => `${t.slice(0, 60)}garbage${t.slice(80)}`],
      ['truncated', (t: string) => t.slice(0, Math.floor(t.length / 2))],
      ['plain header', (t: string) => t.replace(' sealed\n', ' plain 00\n')],
      ['the level-1 file', () => readFileSync(indexPath(dataDir, USER), 'utf8')],
    ])('is rebuilt when damaged (%s)', async (_name, damage) => {
      const vault = new MemoryVault(LIFE);
      const path = indexPath(dataDir, USER, 2);
      writeFileSync(path, damage(await written(vault)));
      const warnings: string[] = [];
      const second = make(vault, { sealer, logger: { warn: (_o, msg) => warnings.push(msg) } });
      expect((await second.search(USER, { text: 'anxiety' }, opener([1, 2])))[0]?.entry.id).toBe(therapy.id);
      expect(warnings.some((w) => w.includes('damaged'))).toBe(true);
      await second.close();
      const readsBefore = vault.reads;
      const third = make(vault, { sealer });
      await third.search(USER, { text: 'anxiety' }, opener([1, 2]));
      expect(vault.reads).toBe(readsBefore); // the rebuilt file was written back and opens
    });

    it('after a level-2 key change the old file does not open and is rebuilt under the new key', async () => {
      const vault = new MemoryVault(LIFE);
      await written(vault);
      const old = pairs.get(2)!;
      pairs.set(2, generateX25519());
      try {
        const warnings: string[] = [];
        const second = make(vault, { sealer, logger: { warn: (_o, msg) => warnings.push(msg) } });
        expect((await second.search(USER, { text: 'anxiety' }, opener([1, 2])))[0]?.entry.id).toBe(therapy.id);
        expect(warnings.some((w) => w.includes('damaged'))).toBe(true);
        await second.close();
        const text = readFileSync(indexPath(dataDir, USER, 2), 'utf8');
        expect(Shard.open(decodeIndex(USER, text, opener([2]), 2)).size).toBe(1);
      } finally {
        pairs.set(2, old);
      }
    });

    it('a rebuild that cannot open level 2 (key rotation rebuilds level 1) deletes the level-2 file', async () => {
      const vault = new MemoryVault(LIFE);
      await written(vault);
      const index = make(vault, { sealer });
      await index.rebuild(USER, opener([1]));
      expect(existsSync(indexPath(dataDir, USER, 2))).toBe(false);
      expect(existsSync(indexPath(dataDir, USER))).toBe(true);
    });

    it('a lock (forget) writes a changed level-2 shard back before closing it', async () => {
      const vault = new MemoryVault(LIFE);
      await written(vault);
      const index = make(vault, { sealer, saveDelayMs: 60_000 });
      await index.search(USER, { text: 'anxiety' }, opener([1, 2]));
      const added = entry('Started seeing a new counsellor', { category: 'CONFIDENTIAL' });
      vault.put(added);
      await index.upsert(USER, added);
      index.forget(USER, [2, 3, 4]);
      // The write-back runs in the person's queue: the next operation on them waits for it.
      await index.search(USER, { text: 'counsellor' }, opener([1]));
      const text = readFileSync(indexPath(dataDir, USER, 2), 'utf8');
      const shard = Shard.open(decodeIndex(USER, text, opener([2]), 2));
      expect(shard.checksumOf(added.id)).toBe(added.checksum);
      shard.close();
    });
  });

  it('rebuilds a stale persisted index', async () => {
    const vault = new MemoryVault(LIFE);
    const first = make(vault);
    await first.rebuild(USER, testOpener());
    await first.close();
    vault.put(entry('Signed up for a pottery class'));
    const second = make(vault);
    expect((await second.search(USER, { text: 'pottery' }, testOpener()))[0]?.entry.content).toContain('pottery');
  });

  it.each([
    ['garbage', (t: string) => `${t.slice(0, 40)}garbage${t.slice(60)}`],
    ['truncated', (t: string) => t.slice(0, Math.floor(t.length / 2))],
    ['foreign header', (t: string) => t.replace('memvault-search-index 1', 'something-else 9')],
    ['empty', () => ''],
  ])('rebuilds a damaged persisted index (%s)', async (_name, damage) => {
    const vault = new MemoryVault(LIFE);
    const warnings: string[] = [];
    const first = make(vault);
    await first.rebuild(USER, testOpener());
    await first.close();
    const path = indexPath(dataDir, USER);
    writeFileSync(path, damage(readFileSync(path, 'utf8')));
    const second = make(vault, { logger: { warn: (_o, msg) => warnings.push(msg) } });
    const hits = await second.search(USER, { text: 'electrician' }, testOpener());
    expect(hits[0]?.entry.content).toContain('Marta');
    expect(warnings.some((w) => w.includes('damaged'))).toBe(true);
    await second.close();
    // The rebuilt index was written back and loads cleanly.
    const third = make(vault);
    const readsBefore = vault.reads;
    await third.search(USER, { text: 'electrician' }, testOpener());
    expect(vault.reads).toBe(readsBefore);
  });

  it('a sealed index moved to another user does not open for them', async () => {
    const vault = new MemoryVault([...LIFE, entry('Other person note', { userId: OTHER_USER })]);
    const first = make(vault);
    await first.rebuild(USER, testOpener());
    await first.close();
    mkdirSync(dirname(indexPath(dataDir, OTHER_USER)), { recursive: true });
    writeFileSync(indexPath(dataDir, OTHER_USER), readFileSync(indexPath(dataDir, USER)));
    const second = make(vault);
    const hits = await second.search(OTHER_USER, { text: 'electrician' }, testOpener());
    expect(hits).toEqual([]);
    expect((await second.search(OTHER_USER, { text: 'note' }, testOpener()))[0]?.entry.userId).toBe(OTHER_USER);
  });

  it('bounds users in memory (LRU) and reloads evicted users from disk', async () => {
    const vault = new MemoryVault([...LIFE, entry('Other person gardening note', { userId: OTHER_USER })]);
    const index = make(vault, { maxUsersInMemory: 1 });
    await index.search(USER, { text: 'pizza' }, testOpener());
    await index.search(OTHER_USER, { text: 'gardening' }, testOpener());
    const hits = await index.search(USER, { text: 'pizza' }, testOpener());
    expect(hits[0]?.entry.content).toContain('pizza');
  });

  it('works with plain openers when nothing is sealed', async () => {
    const vault = new MemoryVault(LIFE);
    const index = make(vault, { sealer: testSealer(true) });
    const hits = await index.search(USER, { text: 'electrician' }, plainOpener([1]));
    expect(hits[0]?.entry.content).toContain('Marta');
  });

  it('rebuild reports how many entries it indexed', async () => {
    const index = make(new MemoryVault(LIFE));
    const result = await index.rebuild(USER, testOpener([1, 2, 3, 4]));
    expect(result.entries).toBe(LIFE.length);
    expect(result.ms).toBeGreaterThanOrEqual(0);
  });
});

describe('search: conversations', () => {
  // One chat session, a turn a minute, as `memvault import` stores a chat export.
  const at = (minute: number) => `2026-10-03T18:${String(minute).padStart(2, '0')}:00.000Z`;
  const CHAT = [
    entry('Maria: Hey John! How was the weekend?', { date: at(0), externalId: 'c1' }),
    entry('John: Great! Did you end up going to the pottery class?', { date: at(1), externalId: 'c2' }),
    entry('Maria: Yes! It was amazing, I made a little blue bowl.', { date: at(2), externalId: 'c3' }),
    entry('John: Nice, Maria! Send me a photo.', { date: at(3), externalId: 'c4' }),
    entry('John: By the way, the concert tickets are booked.', { date: at(4), externalId: 'c5' }),
    // Other days: not the same conversation.
    entry('Maria: I cooked pasta for the kids tonight.', { date: '2026-10-09T10:00:00.000Z', externalId: 'c6' }),
    entry('John: Maria, you cooked for the team tonight.', { date: '2026-10-12T10:00:00.000Z', externalId: 'c7' }),
  ];

  it('finds a reply by the turn it answers ("Yes! It was amazing" after "the pottery class?")', async () => {
    const index = make(new MemoryVault(CHAT));
    const hits = await index.search(USER, { text: 'pottery class' }, testOpener());
    const ids = hits.map((h) => h.entry.externalId);
    expect(ids[0]).toBe('c2');
    expect(ids).toContain('c3');
    expect(hits.find((h) => h.entry.externalId === 'c3')?.signals).toContain('context');
    // Context never crosses into another conversation (days apart).
    expect(ids).not.toContain('c6');
    expect(ids).not.toContain('c7');
  });

  it('a conversation spans levels: a reply inherits the words of a turn classified more private', async () => {
    const chat = [
      entry('Anna: I started seeing a therapist for my anxiety.', {
        date: at(10),
        externalId: 't1',
        category: 'CONFIDENTIAL',
      }),
      entry("Ben: That's brave. How is it going so far?", { date: at(11), externalId: 't2' }),
      entry('Anna: Really well, I feel lighter every week.', { date: at(12), externalId: 't3' }),
    ];
    const index = make(new MemoryVault(chat));
    const hits = await index.search(USER, { text: 'therapist' }, testOpener([1, 2]));
    expect(hits.map((h) => h.entry.externalId)).toEqual(['t1', 't2', 't3']);
    expect(hits[1]?.signals).toContain('context');
    // Without level 2 open the private turn lends nothing: its words must not leak through its neighbours.
    expect(await index.search(USER, { text: 'therapist' }, testOpener([1]))).toEqual([]);
  });

  it("ranks the named person's own message above one addressed to them", async () => {
    const index = make(new MemoryVault(CHAT));
    const hits = await index.search(USER, { text: 'what did Maria cook' }, testOpener());
    expect(hits.map((h) => h.entry.externalId).slice(0, 2)).toEqual(['c6', 'c7']);
  });

  it('a date phrase matches the day a message was written as well as the day its event happened', async () => {
    const told = entry('Went to the dentist last week, all fine', {
      date: '2026-10-03T09:00:00.000Z',
      eventDate: '2026-09-26T09:00:00.000Z',
    });
    const index = make(new MemoryVault([told, ...LIFE]));
    const hits = await index.search(USER, { text: 'dentist on October 3 2026' }, testOpener());
    expect(hits.map((h) => h.entry.id)).toEqual([told.id]);
  });
});
