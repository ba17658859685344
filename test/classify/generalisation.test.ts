import { describe, expect, it } from 'vitest';
import { detectSecrets, strongestFinding } from '../../src/classify/detectors.js';
import { createLocalClassifier } from '../../src/classify/local-classifier.js';
import { detectTopics } from '../../src/classify/topics.js';
import { levelOf } from '../../src/core/category.js';

/**
 * Cases in the shape of what leave-one-writer-out found missing in voices the detectors were not tuned on
 * (invented texts, not copies of the corpus): codes for places no list named, codes dictated digit by digit,
 * dial turns joined by "then", "unlocks everything" and coercion in Spanish, private matters in Spanish.
 */
const floor = (text: string) => strongestFinding(detectSecrets(text))?.category;

describe('codes in voices the first detectors missed', () => {
  it.each([
    'restroom code at the depot is 3 1 7 7 star',
    'parcel room at the new flat 0 5 2 8',
    'New padlock on the bike cage. 4 1 9 3.',
    'new alarm at the bakery is six two two eight',
    'pool locker: 11 then 36 then 4. Then swam 40 lengths',
    'backup codes for my work email: 4410 2298, 7713 0056',
    'la reja del edificio ahora es 3 9 0 1 y luego el botón',
  ])('%s is at least SECRET', (text) => {
    expect(['SECRET', 'ULTRASECRET']).toContain(floor(text));
  });

  it.each([
    'el pin de mi cel abre todo, banca y correo: 118204',
    'la cajita fuerte de papá en el clóset, con las escrituras: 21-07-55',
    'las 12 palabras de mi wallet están dentro del estuche de los lentes',
    'si me asaltan y me obligan, pongo 0000 en la app y abre una cuenta vacía',
    'the rifle cabinet at the cabin is 6-6-1-8',
  ])('%s is ULTRASECRET', (text) => {
    expect(floor(text)).toBe('ULTRASECRET');
  });

  it.each(['we walked 2 5 8 0 steps', 'meet at 14 then 27 minutes later', 'flat 4 on the second floor'])(
    '%s is not a code',
    (text) => {
      expect(floor(text)).toBeUndefined();
    },
  );
});

describe('private matters in Spanish', () => {
  it.each([
    'la biopsia de mi tía salió sospechosa',
    'le presté 500 soles a Carla y no me devuelve',
    'me terminó por mensaje después de un año',
  ])('%s is a strong topic', (text) => {
    expect(detectTopics(text)[0]?.strength ?? 0).toBeGreaterThanOrEqual(0.85);
  });
});

describe('calibrated escalation', () => {
  const classifier = createLocalClassifier();
  const now = new Date('2026-11-26T18:00:00Z');
  it('keeps password talk without any value at level 1', () => {
    expect(classifier.classifySync('I forgot my password again', { now }).level).toBeLessThan(3);
  });

  // A chat export starts every message with the sender's name and a colon, and people write "it's" and "I'm":
  // neither is a value, so ordinary chat turns are not escalated to the secret levels.
  it.each([
    "Priya: Thanks, Sam! It's been a long week, but I'm glad we talked.",
    "Tom: Wow, that looks amazing! Did you paint it yourself? I'd love to see more.",
    "Ana: I'm here for you, always. Don't give up on it, you've got this!",
  ])('%s stays below level 3', (text) => {
    expect(classifier.classifySync(text, { now }).level).toBeLessThan(3);
  });
});

describe('what a secret needs: a value, its location, or talk of what it opens', () => {
  const classifier = createLocalClassifier();
  const now = new Date('2026-11-26T18:00:00Z');

  // A chat export's attachment note ("[shares photo: …]", "[image: …]", "<attached: …>") describes a file; its
  // colon is no value. A quoted title is no value either unless the message is about access. A short reply with
  // no value and no word for anything a secret opens cannot let anyone in, whatever it reminds the model of.
  it.each([
    'Dana: Look what I finished this weekend! [shares photo: a watercolor of a lighthouse on a cliff]',
    'Sam: Our puppy after the beach [image: a brown dog asleep on a towel]',
    'Lee: <attached: 00000012-PHOTO-2024-05-02.jpg> the cake came out great',
    'Ravi: Just started "The Midnight Library" and I can\'t put it down.',
    'Mo: We sang "Here Comes the Sun" at the wedding, so sweet.',
    'Same here!',
    'Bye for now!',
    "I'm here for you, always.",
    'Jo: I had the most memorable day with my dogs at the park!',
    // Keys, safes and words in their everyday senses, and a heart or a face, which are no value either.
    'Rae: Honestly, patience is the key to getting through a week like this.',
    'Ben: Drive safe tonight and text me when you are home!',
    'Lou: Your words really stuck with me, thank you <3',
    'Kit: haha same :P see you at the game :)',
  ])('%s stays below level 3', (text) => {
    expect(classifier.classifySync(text, { now }).level).toBeLessThan(3);
  });

  it.each<[string, 'SECRET' | 'ULTRASECRET']>([
    // A quoted phrase in a message about access is the value: a code word, a duress phrase.
    ['if I ever text "blue umbrella" it means I\'m in trouble, call the police', 'ULTRASECRET'],
    ['code word with the school for pickup is "purple giraffe"', 'SECRET'],
    // The detectors still read an attachment note: a photo of a note can show a password.
    ['Kim: [shares photo: sticky note on the router, wifi password Bl4ckb1rd!]', 'SECRET'],
    // No digit, quote or colon, but recovery material and where it is, or a PIN told in Swahili number words.
    ['the 24 words are in the blue tin behind the flour', 'ULTRASECRET'],
    ['mshwari pin nane sita moja tatu', 'SECRET'],
  ])('%s is at least %s', (text, floor) => {
    expect(classifier.classifySync(text, { now }).level).toBeGreaterThanOrEqual(levelOf(floor));
  });
});

describe('security-question lists', () => {
  it.each(["Sec Qs: pet – Rufus; school – St Anne's", 'bank memorable word: Marmalade'])(
    '%s holds an answer',
    (text) => {
      expect(floor(text)).toBe('SECRET');
    },
  );
  // "memorable" alone (a memorable day) is no security question, and "pets to the park" is no "pet Rufus".
  it.each([
    'I had a memorable day when I took my pets to the park',
    'a memorable night playing for my team against our rivals',
  ])('%s holds none', (text) => {
    expect(floor(text)).toBeUndefined();
  });
});

describe('secrets the people split still missed, as principles (invented texts)', () => {
  it.each([
    // A code word is a plain word: it ends the clause after "is".
    'the code word for whoever collects the twins is pumpernickel',
    // An account number in groups beside a bank, or beside a branch code (IFSC).
    'send the deposit to HDFC 5021 3390 1174 please',
    'refund to 4410 2287 3319, IFSC ICIC0001234',
    // A security question in French, the question quoted before its answer.
    "question de sécurité de la banque — 'ville de naissance de votre père' — c'est Rimouski",
  ])('%s is at least SECRET', (text) => {
    expect(['SECRET', 'ULTRASECRET']).toContain(floor(text));
  });

  it.each([
    // Where a safe's numbers are kept is where the safe is opened from.
    'dad writes the safe combination in the back of his bird book on the porch shelf',
    // A disk-encryption password guards every file on it, in Portuguese too.
    'senha do HD criptografado com as fotos e contratos: Jabuticaba#Lagoa41',
  ])('%s is ULTRASECRET', (text) => {
    expect(floor(text)).toBe('ULTRASECRET');
  });

  it.each([
    'le médecin veut refaire la prise de sang, je stresse',
    'on a trois loyers de retard et le proprio parle de nous expulser',
    'mein Chef hat mich vor allen gekündigt, einfach so',
    'il m’a trompée avec sa collègue, je sais pas quoi faire',
    'jestem w ciąży i jeszcze nikomu nie mówiłam',
    'suami minta cerai minggu lalu',
  ])('%s is a strong topic', (text) => {
    expect(detectTopics(text)[0]?.strength ?? 0).toBeGreaterThanOrEqual(0.85);
  });

  it.each(['un long weekend à la mer, super', 'ein langes Wochenende am See', 'długi weekend nad morzem'])(
    '%s is no private matter',
    (text) => {
      expect(detectTopics(text)[0]?.strength ?? 0).toBeLessThan(0.85);
    },
  );

  it.each(['the kids were so polite at the bank today', 'the key is to keep going, one day at a time'])(
    '%s holds no value',
    (text) => {
      expect(floor(text)).toBeUndefined();
    },
  );
});

describe('private matters in the words of treatment, salary and appeals', () => {
  it.each([
    'ferritin 6. iron infusion next wk',
    'hot flashes through the whole closing, had to step out twice',
    'vasectomy consult booked. not a word to the boys at the rugby club',
    'psych moved to fri 3:30 instead of mon',
    "Rhian's on £38k, I'm on nothing, and her father reminds me every Sunday dinner",
    'biometrics June 3 9:15 for the permit extension',
    'UC top up stopped. appeal sent',
  ])('%s → a private topic strong enough to floor', (text) => {
    expect(detectTopics(text)[0]?.strength ?? 0).toBeGreaterThanOrEqual(0.85);
  });

  it.each(['the idea of camping does not appeal to me', 'spent about $5 on coffee'])('%s → no strong topic', (text) => {
    expect(detectTopics(text)[0]?.strength ?? 0).toBeLessThan(0.85);
  });
});

describe('thirteenth round languages: private matters and what a code opens', () => {
  it.each([
    'Zsuzsa pszichológushoz jár, nem akarja hogy a család tudja',
    '我确诊了抑郁症',
    'у меня долг по кредиту',
    'pikavippi 500e, korko ihan järkyttävä',
    'Jan en Elsabé gaan skei',
    'μην το πεις σε κανέναν',
  ])('%s → a private topic', (text) => {
    expect(detectTopics(text)[0]?.strength ?? 0).toBeGreaterThanOrEqual(0.85);
  });
});

describe('thirteenth round English cues', () => {
  it.each([
    "got hauled into the manager's office re late reports. formal warning. gutted",
    'kyles getting picked on by a boy in primary six and the teacher has done nothing',
    'made 24k last year which sounds alright till you take the rent off',
    'memory clinic at the Royal on Tuesday at ten',
  ])('%s → a private topic', (text) => {
    expect(detectTopics(text)[0]?.strength ?? 0).toBeGreaterThanOrEqual(0.85);
  });
});
