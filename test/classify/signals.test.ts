import { describe, expect, it } from 'vitest';
import { CONFIDENCE_WEIGHTS, combineConfidence, lengthFactor, THRESHOLDS } from '../../src/classify/confidence.js';
import { detectEmotion } from '../../src/classify/emotion.js';
import { detectEvent, zoneOffsetMinutes } from '../../src/classify/events.js';
import { featurize, tokenize } from '../../src/classify/features.js';
import { analyse } from '../../src/classify/nlp.js';
import { extractTags } from '../../src/classify/tags.js';
import { detectTopics, topicScore } from '../../src/classify/topics.js';

const event = (text: string, now: Date, zone = 'UTC') => detectEvent(text, analyse(text).tokens, now, zone);

describe('events', () => {
  // Thursday 26 November 2026, 18:00 UTC.
  const now = new Date('2026-11-26T18:00:00Z');

  it('computes zone offsets with daylight saving', () => {
    expect(zoneOffsetMinutes('UTC', now)).toBe(0);
    expect(zoneOffsetMinutes('America/New_York', new Date('2026-01-15T12:00:00Z'))).toBe(-300);
    expect(zoneOffsetMinutes('America/New_York', new Date('2026-07-15T12:00:00Z'))).toBe(-240);
    expect(zoneOffsetMinutes('Asia/Kolkata', now)).toBe(330);
    expect(() => zoneOffsetMinutes('Nowhere/Special', now)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_ERROR' }),
    );
  });

  it('resolves "yesterday" in the user zone, not UTC', () => {
    // 01:30 on the 27th in Tokyo is still the 26th in UTC: "yesterday" there is the 26th.
    const late = new Date('2026-11-26T16:30:00Z');
    const e = event('went to the onsen yesterday', late, 'Asia/Tokyo');
    expect(e.eventDate).toBeDefined();
    const tokyoDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo' }).format(new Date(e.eventDate!));
    expect(tokyoDay).toBe('2026-11-26');
    expect(e.past).toBe(true);
  });

  it('resolves "last Friday" and "on March 3rd" to past dates', () => {
    const friday = event('we had a picnic last Friday', now);
    expect(friday.eventDate?.slice(0, 10)).toBe('2026-11-20');
    const march = event('on March 3rd we closed on the house', now);
    expect(march.eventDate?.slice(5, 10)).toBe('03-03');
    expect(march.pastVerbs).toBeGreaterThan(0);
  });

  it('scores narration above plans and facts', () => {
    expect(event('Took the kids to the aquarium this afternoon', now).score).toBeGreaterThan(0.5);
    expect(event('I am going to visit Lisbon next month', now).future).toBe(true);
    expect(event('I prefer oat milk', now).score).toBe(0);
    expect(event('My debit card PIN is 8812', now).eventDate).toBeUndefined();
    expect(event('Our Secret Santa budget is 20 dollars', now).eventDate).toBeUndefined();
  });

  it.each([
    'Elternabend Kita Do 19:00',
    'vendredi soir chez Paul',
    'ETA Rotterdam Huwebes 0600 LT',
    'mkutano kesho saa 3',
    'skolavslutning 13 juni kl 9',
    'rent due 23/5',
    'Termin am 13.06.2026',
    'pay before the 5th',
    'w piątek idziemy do kina',
  ])('names a time in any of the corpus languages: %s', (text) => {
    expect(event(text, now).timeShape).toBe(true);
  });

  it.each([
    '1/2 cup of sugar, 1.5 kg flour',
    'pastries were 2.80 each',
    'gate code 1234',
    'I love oat milk',
    'the 2nd floor bathroom',
  ])('names no time: %s', (text) => {
    expect(event(text, now).timeShape).toBe(false);
  });
});

describe('topics', () => {
  it.each([
    ['I was diagnosed with diabetes', 'health'],
    ['we owe 20k in credit card debt', 'money'],
    ['I think he is cheating on me', 'relationships'],
    ['the lawyer says the court date is in May', 'legal'],
    ['our new address is 12 Elm Street', 'contact'],
    ['I got laid off today', 'workplace'],
  ])('%s → %s', (text, topic) => {
    const hits = detectTopics(text);
    expect(hits[0]?.topic).toBe(topic);
    expect(topicScore(hits)).toBeGreaterThanOrEqual(0.85);
  });
  it.each(['Sue came over for tea', 'we played tennis on the court', 'I prefer aisle seats', 'the pin on the map'])(
    '%s has no strong cue',
    (text) => {
      expect(detectTopics(text).every((h) => h.strength < 0.85)).toBe(true);
    },
  );
});

describe('a past time in other languages', () => {
  const at = new Date('2026-11-26T18:00:00Z');
  it.each([
    'ayer fuimos al mercado',
    'gisteren naar de markt geweest',
    'dün annemi ziyaret ettim',
    'kemarin kami ke pantai',
    'kahapon pumunta kami sa mall',
    'ieri sera siamo andati al cinema',
  ])('%s narrates a time', (text) => {
    const e = detectEvent(text, [], at);
    expect(e.timeText).toBeDefined();
    expect(e.score).toBeGreaterThanOrEqual(0.5);
  });
  it.each(['Leo loves the blue bike', 'Jana prefers tea', 'ich bin hier am Bahnhof', 'die Katze schläft hier gern'])(
    '%s has none',
    (text) => {
      expect(detectEvent(text, [], at).timeText).toBeUndefined();
    },
  );
});

describe('topics in the fifth round’s languages', () => {
  it.each([
    ['non dirlo a nessuno, sono incinta', 'relationships'],
    ['de huisarts zegt dat het een miskraam was', 'health'],
    ['kredi kartı borcum 40 bin oldu', 'money'],
    ['usimwambie mtu, tumeachana na Juma', 'relationships'],
    ['natanggal sa trabaho si kuya kahapon', 'workplace'],
    ['mam wypowiedzenie od szefa', 'workplace'],
    ['sabhi se chhupa ke rakha, kisi ko mat batana', 'relationships'],
    ['ho parlato con l’avvocato per il permesso di soggiorno', 'legal'],
  ])('%s → %s', (text, topic) => {
    const hits = detectTopics(text);
    expect(hits.map((h) => h.topic)).toContain(topic);
    expect(topicScore(hits)).toBeGreaterThanOrEqual(0.85);
  });
  it.each([
    'resep rahasia nenek pakai kelapa',
    'we keep the recycling separate',
    'un avocat bien mûr pour la salade',
    'das Gericht war lecker',
    'rakı içtik, çok güzeldi',
  ])('%s has no strong cue', (text) => {
    expect(detectTopics(text).every((h) => h.strength < 0.85)).toBe(true);
  });
});

describe('emotion', () => {
  it.each([
    ['Had a lovely picnic, so much fun', 'joy'],
    ['so grateful for my friends, thank you all', 'gratitude'],
    ['I am so worried and anxious about the exam', 'anxiety'],
    ['ugh the train got delayed again', 'frustration'],
    ['Grandpa passed away this morning', 'grief'],
    ['The recycling goes out on tuesdays', 'neutral'],
    ['I am not happy about this', 'neutral'],
  ])('%s → %s', (text, emotion) => {
    expect(detectEmotion(text, analyse(text).tokens)).toBe(emotion);
  });
});

describe('tags', () => {
  it('takes names, nouns and activities, lower-case, without secret values', () => {
    const text = 'Took Maria to the aquarium in Boston, the locker code is 4412';
    const tags = extractTags(text, analyse(text), [{ start: text.indexOf('4412'), end: text.length }]);
    expect(tags).toEqual(expect.arrayContaining(['maria', 'aquarium']));
    expect(tags.join(' ')).not.toContain('4412');
    expect(tags.length).toBeLessThanOrEqual(5);
  });

  it('leaves out generic nouns such as place, street and minute', () => {
    const text = 'Met Jonas at a nice place on Baker street, we talked for a minute about the garden';
    const tags = extractTags(text, analyse(text));
    expect(tags).toEqual(expect.arrayContaining(['jonas', 'garden']));
    for (const noise of ['place', 'street', 'minute']) expect(tags).not.toContain(noise);
  });
});

describe('confidence', () => {
  it('weights the five factors like the seed', () => {
    expect(Object.values(CONFIDENCE_WEIGHTS).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    const all = (x: number) =>
      combineConfidence({
        keywordMatch: x,
        lengthComplexity: x,
        contextClarity: x,
        historicalAccuracy: x,
        modelConfidence: x,
      });
    expect(all(1)).toBe(1);
    expect(all(0)).toBe(0);
    expect(
      combineConfidence({
        keywordMatch: 1,
        lengthComplexity: 0,
        contextClarity: 0,
        historicalAccuracy: 0,
        modelConfidence: 0,
      }),
    ).toBeCloseTo(0.2, 10);
    expect(
      combineConfidence({
        keywordMatch: 0,
        lengthComplexity: 0,
        contextClarity: 0,
        historicalAccuracy: 0,
        modelConfidence: 1,
      }),
    ).toBeCloseTo(0.3, 10);
    expect(
      combineConfidence({
        keywordMatch: Number.NaN,
        lengthComplexity: 2,
        contextClarity: -1,
        historicalAccuracy: 1,
        modelConfidence: 1,
      }),
    ).toBeCloseTo(0.6, 10);
  });
  it('has the seed thresholds and a length factor', () => {
    expect(THRESHOLDS).toEqual({ CHRONOLOGICAL: 0.7, GENERAL: 0.6, CONFIDENTIAL: 0.8, SECRET: 0.9, ULTRASECRET: 0.95 });
    expect(lengthFactor(1)).toBeLessThan(lengthFactor(10));
  });
});

describe('features', () => {
  it('normalises values to shapes so the model never sees them', () => {
    expect(tokenize('PIN is 8812')).toEqual(['pin', 'is', '<digits4>']);
    expect(tokenize('mail jo@example.com _pin_')).toEqual(['mail', '_email_', '_pin_']);
  });
  it('produces unit-length hashed vectors within the bucket range', () => {
    const v = featurize('Took the kids to the aquarium this afternoon', { bits: 12 });
    const norm = Math.sqrt(v.values.reduce((a, b) => a + b * b, 0));
    expect(norm).toBeCloseTo(1, 5);
    expect(Math.max(...v.indices)).toBeLessThan(4096);
    expect(featurize('', { bits: 12 }).indices.length).toBeGreaterThanOrEqual(0);
  });
});

describe('topics: the sixth round’s cue families', () => {
  it.each([
    ['oncology follow-up on the 12th, not telling the kids yet', 'health'],
    ['the blood pressure pills make me light-headed on the stairs', 'health'],
    ['Dad forgot my name twice this week, his memory is going', 'health'],
    ['he keeps touching my shoulder at work and it makes me uncomfortable', 'relationships'],
    ['I drink more than I should when the shifts are long', 'relationships'],
    ['second interview with the logistics firm tomorrow, my manager does not know', 'workplace'],
    ['savings account down to 300 after the car repair', 'money'],
    ['kids passports are in the blue folder in the wardrobe', 'identity'],
    ['our house address for deliveries is 12 Birch Close', 'contact'],
  ])('%s → %s', (text, topic) => {
    const hits = detectTopics(text);
    expect(hits.map((h) => h.topic)).toContain(topic);
    expect(topicScore(hits)).toBeGreaterThanOrEqual(0.8);
  });
  it.each([
    'the dentist says my teeth are fine',
    "can't wait for the weekend",
    'we went to the cardiff game on saturday',
  ])('%s has no strong cue', (text) => {
    expect(detectTopics(text).every((h) => h.strength < 0.8)).toBe(true);
  });
});
