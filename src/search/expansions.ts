/**
 * A small thesaurus of everyday-life relations that word vectors miss, because the words are related by what
 * people mean, not by the contexts they share: asking where someone "lives" is answered by a memory that they
 * "moved" somewhere. Each group lists words that answer for one another; a query word expands to the rest of its
 * groups. Kept deliberately general (no names, no test vocabulary): it is a prior about personal logs.
 */
const GROUPS: readonly string[] = [
  'live lives living lived reside resides home house flat apartment address moved move moving relocated settled',
  'work works working job jobs career employer employed occupation profession position role hired boss colleague company promotion',
  'car cars automobile vehicle drive driving drove truck van',
  'doctor physician gp clinic hospital appointment checkup medical',
  'dentist dental teeth tooth',
  'sick ill illness flu fever cold cough unwell',
  'eat ate eating dinner lunch breakfast meal restaurant food cooked',
  'drink drank coffee tea beer wine cafe bar',
  'buy bought purchase purchased shopping shop store ordered',
  'pay paid payment bill bills invoice rent',
  'money salary income savings bank account loan debt',
  'travel trip travelled traveled vacation holiday holidays flight flew journey visit visited',
  'birthday anniversary party celebration celebrated',
  'wedding married marry engaged engagement fiance fiancee spouse',
  'child children kid kids son daughter baby',
  'parent parents mother mom mum father dad',
  'partner wife husband girlfriend boyfriend spouse',
  'friend friends buddy pal',
  'pet pets dog puppy cat kitten',
  'exercise workout gym run running ran jog jogging swim swimming training',
  'hike hiking hiked walk walking trail mountain',
  'study studied school university college class course exam lesson learn learning',
  'book books read reading novel author',
  'movie movies film films cinema watched',
  'music concert song songs band gig album',
  'phone call called calling rang',
  'email emailed mail letter message texted',
  'sleep slept tired insomnia nap',
  'sad upset unhappy depressed crying',
  'happy glad excited joy thrilled',
  'anxious anxiety worried stress stressed nervous',
  'repair fix fixed broken electrician plumber mechanic',
  'garden gardening plants plant flowers vegetables',
  'cook cooking cooked recipe baking baked bake',
  'meet met meeting saw see catch',
  'password pin passcode login credentials',
  'medicine medication pills prescription pharmacy',
  'house move moved boxes packing',
  'game games play played playing match',
  'paint painting painted drawing art artist',
  'volunteer volunteering charity donate donated',
  'team sports football soccer basketball tennis',
];

const INDEX: ReadonlyMap<string, readonly string[]> = (() => {
  const map = new Map<string, Set<string>>();
  for (const group of GROUPS) {
    const members = group.split(' ');
    for (const word of members) {
      let set = map.get(word);
      if (!set) {
        set = new Set();
        map.set(word, set);
      }
      for (const other of members) if (other !== word) set.add(other);
    }
  }
  return new Map([...map].map(([k, v]) => [k, [...v]]));
})();

/** Idioms whose words mislead: "what does she do for a living" asks about work, not about living. */
const PHRASES: readonly [RegExp, readonly string[]][] = [
  [/\bfor a living\b/i, ['job', 'work', 'hired', 'occupation']],
  [/\bwhere (?:do|does|did) \w+ (?:live|stay)\b/i, ['moved', 'home', 'flat', 'apartment', 'address']],
  [/\bhow old\b/i, ['birthday', 'born', 'age']],
  [/\b(?:get|got|getting) married\b/i, ['wedding', 'engaged']],
];

/** Words related to `word` in everyday-life usage ("live" → moved, home, address…), or none. */
export function relatedWords(word: string): readonly string[] {
  return INDEX.get(word) ?? [];
}

/** Words an idiom in the text stands for ("do for a living" → job, work…). */
export function phraseWords(text: string): string[] {
  return PHRASES.filter(([re]) => re.test(text)).flatMap(([, words]) => words);
}
