/** The classifier adapter: local (default), LLM with local fallback, batch, and per-user retraining. */

export { type BatchItem, type BatchOptions, type BatchResult, classifyBatch, TokenBucket } from './batch.js';
export { isValidMnemonic } from './bip39.js';
export { CONFIDENCE_WEIGHTS, THRESHOLDS } from './confidence.js';
export {
  CERTAIN,
  detectSecrets,
  type Finding,
  type FindingKind,
  ibanValid,
  luhnValid,
  maskFindings,
  shannonEntropy,
} from './detectors.js';
export { LlmBadOutputError, type LlmError, LlmNetworkError, LlmTimeoutError } from './errors/index.js';
export { createLlmClassifier, type LlmClassifier, type LlmClassifierOptions } from './llm-classifier.js';
export {
  createLocalClassifier,
  type LocalClassifier,
  type LocalClassifierOptions,
  MAX_TEXT_LENGTH,
} from './local-classifier.js';
export { warmUpNlp } from './nlp.js';
export { PersonalModelStore, type PersonalPrediction } from './personal-model.js';
