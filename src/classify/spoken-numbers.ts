/**
 * Numbers told in words ("four seven two nine", "nineteen eighty-four", "double seven") rewritten as digits,
 * so the code detectors see a PIN spelled out the same way as one typed. The rewrite keeps a map from every
 * character of the new text back to the original, so findings still point at the original words.
 */

const UNITS: Readonly<Record<string, string>> = {
  zero: '0',
  oh: '0',
  nought: '0',
  nil: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
};
/**
 * Digits said one by one in the other languages the corpus's writers mix in (Spanish, Portuguese, French,
 * German, Polish, Swahili, Indonesian/Malay, Tagalog, Italian, Dutch, Turkish, romanised Hindi), with and
 * without their accents. Words that are also common articles or English words ("un", "um", "do", "una", "een",
 * "teen") are left out: a run still needs two number words and three digits, and a code still needs something
 * it opens next to it.
 */
const FOREIGN_UNITS: Readonly<Record<string, string>> = {
  cero: '0', uno: '1', dos: '2', tres: '3', cuatro: '4', cinco: '5', seis: '6', siete: '7', ocho: '8', nueve: '9',
  dois: '2', duas: '2', quatro: '4', sete: '7', oito: '8', nove: '9',
  deux: '2', trois: '3', quatre: '4', cinq: '5', sept: '7', huit: '8', neuf: '9',
  null: '0', eins: '1', zwei: '2', drei: '3', vier: '4', sechs: '6', sieben: '7', acht: '8', neun: '9',
  jeden: '1', dwa: '2', trzy: '3', cztery: '4', siedem: '7', osiem: '8',
  sifuri: '0', moja: '1', mbili: '2', tatu: '3', nne: '4', tano: '5', sita: '6', saba: '7', nane: '8', tisa: '9',
  nol: '0', kosong: '0', satu: '1', dua: '2', tiga: '3', empat: '4', lima: '5', enam: '6', tujuh: '7',
  delapan: '8', lapan: '8', sembilan: '9',
  isa: '1', dalawa: '2', tatlo: '3', apat: '4', anim: '6', pito: '7', walo: '8', siyam: '9',
  due: '2', tre: '3', quattro: '4', cinque: '5', sei: '6', sette: '7', otto: '8',
  nul: '0', twee: '2', drie: '3', vijf: '5', zes: '6', zeven: '7', negen: '9',
  sıfır: '0', sifir: '0', bir: '1', iki: '2', üç: '3', uc: '3', dört: '4', dort: '4', beş: '5', bes: '5',
  altı: '6', alti: '6', yedi: '7', sekiz: '8', dokuz: '9',
  pięć: '5', piec: '5', sześć: '6', szesc: '6', dziewięć: '9', dziewiec: '9',
  três: '3', zéro: '0', fünf: '5', funf: '5',
  shunya: '0', ek: '1', chaar: '4', paanch: '5', panch: '5', chhe: '6', saat: '7', aath: '8', nau: '9',
}; // biome-ignore format: a table
const TEENS: Readonly<Record<string, string>> = {
  ten: '10',
  eleven: '11',
  twelve: '12',
  thirteen: '13',
  fourteen: '14',
  fifteen: '15',
  sixteen: '16',
  seventeen: '17',
  eighteen: '18',
  nineteen: '19',
};
const TENS: Readonly<Record<string, string>> = {
  twenty: '2',
  thirty: '3',
  forty: '4',
  fourty: '4',
  fifty: '5',
  sixty: '6',
  seventy: '7',
  eighty: '8',
  ninety: '9',
};
const REPEAT: Readonly<Record<string, number>> = { double: 2, triple: 3 };

export interface Respelled {
  /** The text with runs of number words replaced by digits. */
  readonly text: string;
  /** `map[i]` is the offset in the original text of character `i` of `text` (one extra entry for the end). */
  readonly map: Int32Array;
  /** Whether any run was rewritten; when false `text` is the original. */
  readonly changed: boolean;
}

/** Letters of any script, so "dört", "pięć" and "três" are one word each. */
const WORD = /\p{L}+/gu;

/** Digits of one number word, or undefined. */
function digitsOf(word: string): string | undefined {
  return UNITS[word] ?? TEENS[word] ?? FOREIGN_UNITS[word];
}

/**
 * Rewrites runs of at least two number words (or one number word glued to digits, "4 seven 2 9") as digit
 * strings. A lone "one" or "two" stays a word: "one of the two keys" has no code in it.
 */
export function respellNumbers(text: string): Respelled {
  const words = [...text.matchAll(WORD)];
  // Quick exit: most messages hold no number words at all.
  let any = false;
  for (const w of words) {
    const lw = w[0].toLowerCase();
    if (UNITS[lw] || TEENS[lw] || TENS[lw] || FOREIGN_UNITS[lw]) {
      any = true;
      break;
    }
  }
  const identity = () => {
    const map = new Int32Array(text.length + 1);
    for (let i = 0; i <= text.length; i++) map[i] = i;
    return { text, map, changed: false };
  };
  if (!any) return identity();

  interface Run {
    start: number;
    end: number;
    digits: string;
    words: number;
  }
  const runs: Run[] = [];
  let cur: Run | undefined;
  let pendingRepeat = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const lw = w[0].toLowerCase();
    const prev = words[i - 1];
    const gap = prev ? text.slice(prev.index + prev[0].length, w.index) : '';
    // Words of one number are separated by spaces, hyphens or commas only.
    const joined = cur !== undefined && /^[\s,-]{1,3}$/.test(gap);
    if (REPEAT[lw] !== undefined) {
      if (!joined) cur = undefined;
      pendingRepeat = REPEAT[lw]!;
      if (!cur) cur = { start: w.index, end: w.index + w[0].length, digits: '', words: 0 };
      else cur.end = w.index + w[0].length;
      continue;
    }
    let digits: string | undefined;
    const tens = TENS[lw];
    if (tens !== undefined) {
      const next = words[i + 1];
      const nextGap = next ? text.slice(w.index + w[0].length, next.index) : '';
      const unit = next && /^[\s-]$/.test(nextGap) ? UNITS[next[0].toLowerCase()] : undefined;
      if (unit !== undefined && unit !== '0') {
        digits = tens + unit;
        // A new run starts here: the one before it (if any) is complete.
        if (!joined) {
          if (cur) runs.push(cur);
          cur = { start: w.index, end: next!.index + next![0].length, digits: '', words: 0 };
        } else cur!.end = next!.index + next![0].length;
        cur!.digits += digits;
        cur!.words += 2;
        i++;
        continue;
      }
      digits = `${tens}0`;
    } else {
      digits = digitsOf(lw);
      // "oh" counts as zero only inside a run of digits ("four oh two", "oh eight twenty seven").
      const next = words[i + 1];
      const nextIsDigit =
        next !== undefined && (UNITS[next[0].toLowerCase()] ?? TENS[next[0].toLowerCase()]) !== undefined;
      if (lw === 'oh' && !joined && !nextIsDigit) digits = undefined;
    }
    if (digits === undefined) {
      if (cur) runs.push(cur);
      cur = undefined;
      pendingRepeat = 0;
      continue;
    }
    if (pendingRepeat > 1 && digits.length === 1) digits = digits.repeat(pendingRepeat);
    pendingRepeat = 0;
    if (!joined || !cur) {
      if (cur) runs.push(cur);
      cur = { start: w.index, end: w.index + w[0].length, digits: '', words: 0 };
    }
    cur.end = w.index + w[0].length;
    cur.digits += digits;
    cur.words += 1;
  }
  if (cur) runs.push(cur);
  const kept = runs.filter((r) => r.words >= 2 && r.digits.length >= 3);
  if (kept.length === 0) return identity();

  let out = '';
  const map: number[] = [];
  let at = 0;
  for (const r of kept) {
    for (let i = at; i < r.start; i++) {
      out += text[i];
      map.push(i);
    }
    for (const d of r.digits) {
      out += d;
      map.push(r.start);
    }
    // The last digit maps to the end of the run so a finding's end covers all the words.
    map[map.length - 1] = r.end - 1;
    at = r.end;
  }
  for (let i = at; i < text.length; i++) {
    out += text[i];
    map.push(i);
  }
  map.push(text.length);
  return { text: out, map: Int32Array.from(map), changed: true };
}
