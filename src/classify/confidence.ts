import type { Category } from '../core/category.js';

/** Per-category confidence thresholds (seed §2); below its threshold a prediction escalates and is reviewed. */
export const THRESHOLDS: Readonly<Record<Category, number>> = {
  CHRONOLOGICAL: 0.7,
  GENERAL: 0.6,
  CONFIDENTIAL: 0.8,
  SECRET: 0.9,
  ULTRASECRET: 0.95,
};

/** The seed's five factors, each in [0, 1]. */
export interface ConfidenceFactors {
  /** How strongly explicit cues (detectors, topic words, time expressions) back the category. */
  readonly keywordMatch: number;
  /** Enough text to judge: very short or very long messages are less certain. */
  readonly lengthComplexity: number;
  /** The margin between the chosen category and the runner-up. */
  readonly contextClarity: number;
  /** How often this user's past predictions of this category stood (from corrections). */
  readonly historicalAccuracy: number;
  /** The fused model probability of the category. */
  readonly modelConfidence: number;
}

export const CONFIDENCE_WEIGHTS: Readonly<Record<keyof ConfidenceFactors, number>> = {
  keywordMatch: 0.2,
  lengthComplexity: 0.1,
  contextClarity: 0.2,
  historicalAccuracy: 0.2,
  modelConfidence: 0.3,
};

/** Weighted sum of the five factors, clamped to [0, 1]. */
export function combineConfidence(f: ConfidenceFactors): number {
  let sum = 0;
  for (const key of Object.keys(CONFIDENCE_WEIGHTS) as (keyof ConfidenceFactors)[]) {
    sum += CONFIDENCE_WEIGHTS[key] * clamp01(f[key]);
  }
  return clamp01(sum);
}

/** Length/complexity factor from the word count. */
export function lengthFactor(words: number): number {
  if (words <= 1) return 0.3;
  if (words <= 3) return 0.7;
  if (words <= 80) return 1;
  return 0.85;
}

export const clamp01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);
