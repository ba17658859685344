import type { Category, SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';

export interface ClassifyContext {
  readonly userId?: UserId;
  /** The message time; event dates are resolved against it. Default: now. */
  readonly now?: Date;
  /** IANA zone for resolving "yesterday", "last Friday"; default UTC. */
  readonly timezone?: string;
}

export interface Classification {
  readonly category: Category;
  readonly level: SecurityLevel;
  readonly confidence: number;
  readonly reasoning: string;
  readonly tags: string[];
  readonly emotionalContext: string;
  /** ISO 8601, when the message narrates an event with a resolvable time. */
  readonly eventDate?: string;
  readonly source: 'llm' | 'local';
  /** Set when the LLM path failed and the local classifier answered: "timeout", "network", "bad_output"… */
  readonly fallbackReason?: string;
  /** Below the category's threshold: escalated to the more protective candidate; a person should look. */
  readonly needsReview: boolean;
}

export interface Classifier {
  classify(text: string, ctx?: ClassifyContext): Promise<Classification>;
}

/** A person's correction, which retrains their personal model. */
export interface Correction {
  readonly userId: UserId;
  readonly entryId: string;
  readonly text: string;
  readonly from: Category;
  readonly to: Category;
  readonly at: string;
}

/** Learns from a person's corrections (seed `retrain_classifier`): later predictions for that user follow them. */
export interface CorrectionLearner {
  learn(correction: Correction): Promise<void>;
}
