/**
 * The one training recipe shared by scripts/train-classifier.ts (the shipped model) and the
 * leave-one-writer-out evaluation in scripts/eval-classifier.ts, so what is measured is what ships.
 */
import type { Category } from '../src/core/category.js';
import { detectSecrets, maskFindings } from '../src/classify/detectors.js';
import { TextModel, trainTextModel } from '../src/classify/text-model.js';

export interface TrainingHyper {
  readonly bits: number;
  readonly epochs: number;
  readonly l2: number;
  readonly seeds: number;
}

export const DEFAULT_HYPER: TrainingHyper = { bits: 16, epochs: 20, l2: 3e-5, seeds: 5 };

/** The model learns from masked text, exactly as the classifier will show it (see maskFindings). */
export const maskForModel = (text: string): string => maskFindings(text, detectSecrets(text));

/** Missing a secret costs more than over-protecting a fact. */
const CLASS_WEIGHTS: Partial<Record<Category, number>> = { SECRET: 1.5, ULTRASECRET: 2, CONFIDENTIAL: 1.2 };

/** Trains `hyper.seeds` models on already masked rows and averages them (one SGD run depends on its shuffle). */
export function trainMasked(
  rows: ReadonlyArray<{ readonly text: string; readonly label: Category; readonly weight?: number }>,
  hyper: TrainingHyper = DEFAULT_HYPER,
): TextModel {
  const seeds = Array.from({ length: hyper.seeds }, (_, i) => i + 1);
  return TextModel.average(
    seeds.map((seed) =>
      trainTextModel(rows, { bits: hyper.bits, epochs: hyper.epochs, l2: hyper.l2, seed, classWeights: CLASS_WEIGHTS }),
    ),
  );
}
