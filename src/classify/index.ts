/** The classifier adapter: local (default), LLM with local fallback, batch, and per-user retraining. */
export {
  createLocalClassifier,
  type LocalClassifier,
  type LocalClassifierOptions,
  MAX_TEXT_LENGTH,
} from './local-classifier.js';
export { PersonalModelStore, type PersonalPrediction } from './personal-model.js';
export {
  detectSecrets,
  type Finding,
  type FindingKind,
  CERTAIN,
  luhnValid,
  ibanValid,
  shannonEntropy,
} from './detectors.js';
export { isValidMnemonic } from './bip39.js';
export { THRESHOLDS, CONFIDENCE_WEIGHTS } from './confidence.js';
export { warmUpNlp } from './nlp.js';
