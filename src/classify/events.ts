import * as chrono from 'chrono-node/en';
import { zoneOffsetMinutes } from '../core/time-zone.js';
import type { Token } from './nlp.js';

/** Time and narration signals of a message. */
export interface EventSignals {
  /** ISO 8601 (UTC) of the first time expression, resolved against the message time in the user's zone. */
  readonly eventDate?: string;
  /** The time expression as written ("last Friday"). */
  readonly timeText?: string;
  /** The expression points to the past (or today) rather than the future. */
  readonly past: boolean;
  /** Count of past-tense verbs ("went", "took", "was"). */
  readonly pastVerbs: number;
  /** Future or intention cues ("will", "going to", "planning", "tomorrow"). */
  readonly future: boolean;
  /** 0–1: how strongly the message narrates an experience that happened. */
  readonly score: number;
  /** A time, a date or a day is named, in any of the corpus's languages (TIME_SHAPE), past or future. */
  readonly timeShape: boolean;
}

export { zoneOffsetMinutes };

const IRREGULAR_PAST = new Set(
  `was were had did went took got made saw came gave found told felt left met ran ate drank bought brought
  thought caught taught sat stood heard held kept lost paid said sent spent won wrote drove rode flew fell
  broke chose began swam sang slept woke wore threw grew knew forgot became built hung hit hurt let put set
  shut cut quit read led fed fought sold shot spoke stole struck swore tore understood`.split(/\s+/),
);
/** Words and shapes chrono can read as a time; without any, chrono is not worth its cost. */
const TIME_CUE =
  /\b(?:today|tonight|tonite|yesterday|tomorrow|morning|afternoon|evening|night|noon|midnight|week|weekend|month|year|ago|last|next|this|now|earlier|later|since|until|mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\b(?:spring|summer|autumn|fall|winter|christmas|easter|thanksgiving|halloween|new year)\b|\d\s*(?:am|pm|a\.m|p\.m|o'clock|h\b)|\b\d{1,2}(?:st|nd|rd|th)\b|\b\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{1,4})?\b|\b\d{1,2}:\d{2}\b|\b(?:19|20)\d{2}\b/i;

/**
 * A past (or today's) time said in the other languages the corpus's writers use — Spanish, Portuguese, French,
 * German, Italian, Dutch, Polish, Turkish, Indonesian, Swahili, Tagalog, romanised Hindi. chrono reads English
 * only, so without this "ayer fuimos al mercado" had no time at all and read as a fact. Chosen from the
 * languages (the words for yesterday, last night, last week, this morning, today, "n days ago"), not from the
 * writers' messages; future words are left out, as English plans get no narration score either.
 */
const FOREIGN_PAST =
  /(?<![\p{L}\p{N}])(?:ayer|anoche|anteayer|la semana pasada|el (?:mes|a[ñn]o) pasado|hace (?:\d+|un|una|dos|tres|unos|unas) (?:d[ií]as?|semanas?|meses|mes|a[ñn]os?|rato|horas?)|esta ma[ñn]ana|hoy|ontem|anteontem|semana passada|h[áa] (?:\d+|um|uma|dois|duas|tr[êe]s) (?:dias?|semanas?|meses|anos?)|hoje|hier (?:soir|matin|apr[èe]s-midi|on|j'ai|nous|il|elle|c'[ée]tait)|avant-hier|la semaine derni[èe]re|il y a (?:\d+|un|une|deux|trois) (?:jours?|semaines?|mois|ans?)|ce matin|aujourd'hui|gestern|vorgestern|letzte woche|vor (?:\d+|einem|einer|zwei|drei) (?:tagen?|wochen?|monaten?|jahren?)|heute|ieri|l'altro ieri|la settimana scorsa|(?:\d+|due|tre) (?:giorni|settimane|mesi|anni) fa|stamattina|stasera|oggi|gisteren|eergisteren|vorige week|vanochtend|vanmorgen|vandaag|(?:\d+|twee|drie) (?:dagen|weken|maanden|jaar) geleden|wczoraj|przedwczoraj|w zesz[łl]ym tygodniu|dzi[śs] rano|dzisiaj|dzi[śs]|(?:\d+|dwa|trzy) (?:dni|tygodnie|miesi[ąa]ce|lata) temu|d[üu]n|ge[çc]en hafta|bu sabah|bug[üu]n|(?:\d+|iki|[üu][çc]) (?:g[üu]n|hafta|ay|y[ıi]l) [öo]nce|kemarin|tadi (?:pagi|siang|sore|malam)|minggu lalu|hari ini|(?:\d+|dua|tiga) (?:hari|minggu|bulan|tahun) (?:yang )?lalu|jana (?:usiku|asubuhi|jioni|mchana|tulienda|nilienda)|juzi|wiki iliyopita|leo asubuhi|kahapon|kagabi|noong isang linggo|kanina|ngayong umaga|ngayon|kal raat|parso|aaj subah|aaj|pichhle hafte)(?![\p{L}\p{N}])/iu;

/**
 * A time or a date in any of the corpus's languages, past or future: clock times ("19:00", "9h30", "kl 9", "0600 LT"),
 * day-month dates ("23/5", "13.06.") and ordinal days, and the words for the days of the week and for today, tonight
 * and tomorrow in English, Spanish, Portuguese, French, German, Italian, Dutch, Polish, Romanian, Swedish, Turkish,
 * Indonesian, Swahili and Tagalog. chrono reads English only, and FOREIGN_PAST the past only, so "Elternabend Do
 * 19:00" or "vendredi soir chez Paul" had no time at all. Chosen from the languages, not from the writers' messages.
 */
const TIME_SHAPE = new RegExp(
  [
    // Clock times: 19:00, 9h30, 7pm, 10 Uhr, kl 9, à 9h, 0600 LT.
    String.raw`(?<![\d:.])(?:[01]?\d|2[0-3])[:h][0-5]\d(?![\d:])`,
    String.raw`(?<![\p{L}\p{N}])\d{1,2}\s?(?:am|pm|a\.m\.|p\.m\.|uhr|hrs|hs|heures?|horas?|o'clock)(?![\p{L}])`,
    String.raw`(?<![\p{L}\p{N}])(?:kl\.?|klo|saa|jam|pukul|alle|ore|om|à|a las|às|um|godz\.?)\s?\d{1,2}(?:[:.h]\d{2})?(?!\d)`,
    String.raw`(?<![\d:.])(?:[01]\d|2[0-3])[0-5]\d\s?(?:hrs|h|lt|z)(?![\p{L}])`,
    // Dates: 23/5 (not a recipe's 1/2 cup), 13.06. or 13.06.2026, 2026-12-01, "on the 5th".
    String.raw`(?<![\d/.,])(?:[12]\d|3[01]|0?[1-9])/(?:1[0-2]|0?[1-9])(?:/(?:\d{4}|\d{2}))?(?![\d/]|[.,]\d|\s?(?:cups?|tsp|tbsp|teaspoons?|tablespoons?|inch|lbs?|kg|oz|pints?|lit(?:er|re)s?|ml|miles?|km|off|of)\b)`,
    String.raw`(?<![\d/.,])(?:[12]\d|3[01]|0?[1-9])\.(?:1[0-2]|0?[1-9])\.(?:\d{4}|\d{2})?(?!\d)`,
    String.raw`(?<!\d)(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:[0-2]\d|3[01])(?!\d)`,
    String.raw`(?<![\p{L}])(?:on|by|before|after|until|till|from)\s+(?:the\s+)?\d{1,2}(?:st|nd|rd|th)(?![\p{L}])`,
    // Days and today / tomorrow, in the corpus's languages ("mon", "sat", "sun", "wed", "hier", "leo" and "jana"
    // are left out: "my" in French, "here" in German, a name, or an English word).
    String.raw`(?<![\p{L}])(?:monday|tuesday|tues?|wednesday|weds|thursday|thu|thurs?|friday|fri|saturday|sunday|today|tonight|tonite|tomorrow|tmrw|tmr|yesterday|weekend)(?![\p{L}])`,
    String.raw`(?<![\p{L}])(?:lunes|martes|mi[ée]rcoles|jueves|viernes|s[áa]bado|domingo|ma[ñn]ana|hoy|ayer|esta noche|segunda-feira|ter[çc]a-feira|quarta-feira|quinta-feira|sexta-feira|amanh[ãa]|hoje|ontem|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|demain|aujourd'hui|avant-hier|ce soir|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|morgen|heute|gestern|luned[iì]|marted[iì]|mercoled[iì]|gioved[iì]|venerd[iì]|sabato|domenica|domani|oggi|ieri|stasera|maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|vandaag|gisteren|vanavond|poniedzia[łl]\p{L}*|wtor(?:ek|ku)|[śs]rod[aęy]|czwart(?:ek|ku)|pi[ąa]t(?:ek|ku)|sobot[aęy]|niedziel[aęi]|jutro|dzi[śs]|wczoraj|luni|mar[țt]i|miercuri|vineri|s[âa]mb[ăa]t[ăa]|duminic[ăa]|m[âa]ine|m[åa]ndag|tisdag|onsdag|torsdag|fredag|l[öo]rdag|s[öo]ndag|imorgon|idag|ikv[äa]ll|pazartesi|[çc]ar[şs]amba|per[şs]embe|cumartesi|yar[ıi]n|bug[üu]n|senin|selasa|rabu|kamis|jumat|sabtu|besok|hari ini|kemarin|nanti malam|jumatatu|jumanne|jumatano|alhamisi|ijumaa|jumamosi|jumapili|kesho|miyerkules|huwebes|biyernes|bukas|ngayon|kahapon|mamayang gabi)(?![\p{L}])`,
  ].join('|'),
  'iu',
);

/** Characters of a message searched for its time expression. */
const MAX_DATE_SCAN = 1000;

const FUTURE =
  /\b(will|won't|gonna|going to|plan(?:ning)? to|want to|wanna|hope to|intend to|next (?:week|month|year|time|summer|spring|winter|fall)|tomorrow|someday|upcoming|is scheduled|scheduled for|remind me|don't forget|need to|have to|should)\b/i;

function isPastVerb(t: Token): boolean {
  if (IRREGULAR_PAST.has(t.lower)) return true;
  // The tagger often reads a sentence-initial "Planted" as a proper noun; the lemma still tells.
  return /ed$/.test(t.lower) && t.lower.length > 3 && t.lemma !== t.lower && t.pos !== 'ADJ';
}

function countPastVerbs(tokens: readonly Token[]): number {
  let n = 0;
  for (const t of tokens) if ((t.pos === 'VERB' || t.pos === 'AUX') && isPastVerb(t)) n++;
  return n;
}

/**
 * Finds the time expression and narration cues of `text`. `now` is the message time; `timeZone` the user's
 * IANA zone (chrono gets the zone's offset at `now`, so "this afternoon" means the user's afternoon).
 */
export function detectEvent(text: string, tokens: readonly Token[], now: Date, timeZone = 'UTC'): EventSignals {
  const offset = zoneOffsetMinutes(timeZone, now);
  // No options argument: with one, chrono rebuilds its patterns on every call (measured ~25 ms a message).
  // The first time expression is what counts; chrono's cost grows with the text, so it reads the opening.
  const head = text.slice(0, MAX_DATE_SCAN);
  const results = TIME_CUE.test(head)
    ? chrono.parse(head, { instant: now, timezone: offset === 0 ? 'UTC' : offset })
    : [];
  // Ignore bare numbers chrono reads as times ("PIN 8812", "20 dollars"): keep expressions with a date word.
  const first = results.find((r) => /[a-z]/i.test(r.text) && !/^\d+\s*(dollars?|euros?|bucks|k)$/i.test(r.text.trim()));
  const pastVerbs = countPastVerbs(tokens);
  const future = FUTURE.test(text);
  let eventDate: string | undefined;
  let past = false;
  if (first) {
    const date = first.date();
    if (!Number.isNaN(date.getTime())) {
      eventDate = date.toISOString();
      past = date.getTime() <= now.getTime() + 12 * 3600_000;
    }
  }
  const foreign = first ? undefined : FOREIGN_PAST.exec(head);
  let score = 0;
  if ((first && past) || foreign) score += 0.5;
  if (pastVerbs > 0) score += Math.min(0.5, 0.3 + 0.1 * pastVerbs);
  if (/\b(just (?:got|had|finished|landed|saw|came)|finally)\b/i.test(text)) score += 0.15;
  // Diary style with the subject dropped ("Planted garlic…", "Drove grandma to church…") is narration.
  const opening = tokens.find((t) => t.pos !== 'PUNCT');
  if (opening && isPastVerb(opening)) score += 0.2;
  if (future && !pastVerbs) score -= 0.3;
  return {
    ...(eventDate === undefined ? {} : { eventDate }),
    ...(first ? { timeText: first.text } : foreign ? { timeText: foreign[0] } : {}),
    past,
    pastVerbs,
    future,
    score: Math.max(0, Math.min(1, score)),
    timeShape: first !== undefined || Boolean(foreign) || TIME_SHAPE.test(head),
  };
}
