import type { Token } from './nlp.js';

/** Emotions the lexicon recognises; `neutral` when none stands out. */
export type Emotion =
  | 'joy'
  | 'excitement'
  | 'gratitude'
  | 'love'
  | 'pride'
  | 'relief'
  | 'sadness'
  | 'grief'
  | 'anger'
  | 'frustration'
  | 'fear'
  | 'anxiety'
  | 'shame'
  | 'tiredness'
  | 'surprise'
  | 'neutral';

// Lemma or phrase → emotion. Lemmas make "loved", "loving" and "loves" one entry.
const LEXICON: ReadonlyArray<readonly [Emotion, readonly string[]]> = [
  [
    'joy',
    [
      'happy',
      'glad',
      'great',
      'amazing',
      'awesome',
      'wonderful',
      'fun',
      'enjoy',
      'delight',
      'lovely',
      'fantastic',
      'best',
      'yay',
      'perfect',
      'beautiful',
      'nice',
      'good time',
      'laugh',
      'smile',
      'cheerful',
      'blast',
      '😂',
      '😊',
      '😄',
      '🥳',
      '☀️',
    ],
  ],
  ['excitement', ['excited', 'exciting', "can't wait", 'thrilled', 'pumped', 'stoked', 'finally', '!!', '🎉', '🔥']],
  ['gratitude', ['thank', 'thanks', 'grateful', 'thankful', 'appreciate', 'blessed', 'thank god', '🙏']],
  ['love', ['love', 'adore', 'miss', 'sweetheart', 'cuddle', 'hug', 'engaged', 'married', '❤️', '💍', '😍']],
  ['pride', ['proud', 'accomplish', 'achievement', 'won', 'award', 'nailed', 'record']],
  ['relief', ['relieved', 'relief', 'phew', 'came back clear', 'finally over', 'thank god']],
  [
    'sadness',
    [
      'sad',
      'cry',
      'cried',
      'tears',
      'lonely',
      'miss',
      'down',
      'low',
      'depressed',
      'heartbroken',
      'unhappy',
      'disappointed',
      'sucks',
      '😭',
      '😢',
      '🥲',
    ],
  ],
  ['grief', ['died', 'passed away', 'funeral', 'loss', 'grief', 'miscarriage', 'mourning', 'rip']],
  ['anger', ['angry', 'furious', 'mad', 'hate', 'pissed', 'rage', 'livid', "can't stand", 'resent', 'yelled', 'fight']],
  [
    'frustration',
    [
      'annoyed',
      'annoying',
      'frustrated',
      'frustrating',
      'ugh',
      'again',
      'stupid',
      'ridiculous',
      'stuck',
      'forgot',
      'lost my',
      'delayed',
      'cancelled',
      'broke',
      '😤',
    ],
  ],
  ['fear', ['scared', 'afraid', 'terrified', 'frightened', 'fear', 'panic', 'threat']],
  [
    'anxiety',
    [
      'anxious',
      'anxiety',
      'worried',
      'worry',
      'nervous',
      'stress',
      'stressed',
      'overwhelmed',
      'panic attack',
      'dread',
      'burnout',
      'burning out',
      '😬',
    ],
  ],
  ['shame', ['ashamed', 'embarrassed', 'embarrassing', 'guilty', 'regret', 'humiliated']],
  ['tiredness', ['tired', 'exhausted', 'sleepy', 'drained', 'dead', 'wiped']],
  ['surprise', ['surprised', 'surprise', 'wow', 'unexpected', 'what are the odds', 'shocked', 'omg']],
];

const NEGATORS = new Set(['not', "n't", 'never', 'no', 'hardly']);

/**
 * The dominant emotion of a message from a small lexicon over lemmas and phrases, with simple negation
 * ("not happy" does not count as joy). Returns `neutral` when nothing is expressed.
 */
export function detectEmotion(text: string, tokens: readonly Token[]): Emotion {
  const lower = text.toLowerCase();
  const lemmas = new Map<string, number>();
  tokens.forEach((t, i) => {
    const negated = [tokens[i - 1], tokens[i - 2]].some((p) => p && NEGATORS.has(p.lower));
    if (negated) return;
    lemmas.set(t.lemma, i);
    lemmas.set(t.lower, i);
  });
  let best: Emotion = 'neutral';
  let bestScore = 0;
  for (const [emotion, cues] of LEXICON) {
    let score = 0;
    for (const cue of cues) {
      if (cue.includes(' ') || !/^[a-z']+$/.test(cue)) {
        if (lower.includes(cue)) score += 1.2;
      } else if (lemmas.has(cue)) {
        score += 1;
      }
    }
    if (score > bestScore) {
      best = emotion;
      bestScore = score;
    }
  }
  return best;
}
