import { CATEGORIES, type Category, levelOf } from '../core/category.js';

/** Evaluation metrics over (truth, predicted) pairs. */
export interface Metrics {
  readonly total: number;
  readonly accuracy: number;
  readonly macroF1: number;
  readonly perCategory: Readonly<Record<Category, { precision: number; recall: number; f1: number; support: number }>>;
  /** confusion[truth][predicted] counts. */
  readonly confusion: Readonly<Record<Category, Readonly<Record<Category, number>>>>;
  /** Share of messages whose predicted level is below the true level. */
  readonly underProtection: number;
  /** Share whose predicted level is above the true level. */
  readonly overProtection: number;
  /** Per true category: share predicted at its level or higher (the promise the classifier makes). */
  readonly protection: Readonly<Record<Category, number>>;
}

/** Accuracy, per-category precision/recall/F1, macro-F1, confusion matrix and protection errors. */
export function evaluate(pairs: ReadonlyArray<{ readonly truth: Category; readonly predicted: Category }>): Metrics {
  const confusion = Object.fromEntries(
    CATEGORIES.map((t) => [t, Object.fromEntries(CATEGORIES.map((p) => [p, 0]))]),
  ) as Record<Category, Record<Category, number>>;
  let correct = 0;
  let under = 0;
  let over = 0;
  for (const { truth, predicted } of pairs) {
    confusion[truth][predicted] += 1;
    if (truth === predicted) correct++;
    if (levelOf(predicted) < levelOf(truth)) under++;
    if (levelOf(predicted) > levelOf(truth)) over++;
  }
  const perCategory = {} as Record<Category, { precision: number; recall: number; f1: number; support: number }>;
  let f1Sum = 0;
  let present = 0;
  for (const c of CATEGORIES) {
    const tp = confusion[c][c];
    const support = CATEGORIES.reduce((s, p) => s + confusion[c][p], 0);
    const predictedC = CATEGORIES.reduce((s, t) => s + confusion[t][c], 0);
    const precision = predictedC ? tp / predictedC : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    perCategory[c] = { precision, recall, f1, support };
    if (support > 0) {
      f1Sum += f1;
      present++;
    }
  }
  const n = pairs.length || 1;
  const protection = Object.fromEntries(
    CATEGORIES.map((t) => {
      const support = perCategory[t].support;
      const ok = CATEGORIES.filter((p) => levelOf(p) >= levelOf(t)).reduce((s, p) => s + confusion[t][p], 0);
      return [t, support ? ok / support : 1];
    }),
  ) as Record<Category, number>;
  return {
    protection,
    total: pairs.length,
    accuracy: correct / n,
    macroF1: present ? f1Sum / present : 0,
    perCategory,
    confusion,
    underProtection: under / n,
    overProtection: over / n,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const SHORT: Record<Category, string> = {
  CHRONOLOGICAL: 'CHRON',
  GENERAL: 'GEN',
  CONFIDENTIAL: 'CONF',
  SECRET: 'SECRET',
  ULTRASECRET: 'ULTRA',
};

/** A Markdown report of `metrics`. */
export function formatReport(m: Metrics, title: string): string {
  const lines = [
    `Evaluated on the ${title}.`,
    '',
    `| metric | value |`,
    `|---|---|`,
    `| accuracy | ${pct(m.accuracy)} |`,
    `| macro-F1 | ${m.macroF1.toFixed(3)} |`,
    `| under-protection (level below truth) | ${pct(m.underProtection)} |`,
    `| over-protection (level above truth) | ${pct(m.overProtection)} |`,
    '',
    `| true \\ predicted | ${CATEGORIES.map((c) => SHORT[c]).join(' | ')} | recall | F1 | at its level or higher |`,
    `|---|${CATEGORIES.map(() => '---:').join('|')}|---:|---:|---:|`,
    ...CATEGORIES.map(
      (t) =>
        `| ${SHORT[t]} | ${CATEGORIES.map((p) => m.confusion[t][p]).join(' | ')} | ${pct(m.perCategory[t].recall)} | ${m.perCategory[t].f1.toFixed(3)} | ${pct(m.protection[t])} |`,
    ),
  ];
  return lines.join('\n');
}
