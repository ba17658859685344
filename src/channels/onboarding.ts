import { z } from 'zod';
import type { UserId } from '../core/entry.js';
import type { OnboardingView } from '../ports/channels.js';
import type { DocumentStore } from '../ports/documents.js';

export type { OnboardingView };
import { PersonJsonFile } from './json-file.js';

/** The tutorial's real steps, in the order the checklist shows them (seed §5). */
export const ONBOARDING_STEPS = [
  'first_memory',
  'first_search',
  'link_channel',
  'two_factor',
  'first_digest_read',
] as const;
export type OnboardingStep = (typeof ONBOARDING_STEPS)[number];

const Doc = z.object({
  done: z.partialRecord(z.enum(ONBOARDING_STEPS), z.string()).default({}),
  skipped: z.boolean().default(false),
  /** Channels a welcome was already sent on (each gets one). */
  welcomed: z.array(z.string()).default([]),
});

export const STEP_TITLES: Readonly<Record<OnboardingStep, string>> = {
  first_memory: 'Save your first memory',
  first_search: 'Search your memories',
  link_channel: 'Link a messenger (Telegram, WhatsApp or SMS)',
  two_factor: 'Set up two-step verification',
  first_digest_read: 'Read your first daily digest',
};

/** Onboarding state per person (`ONBOARDING.json`): which steps really happened, and whether it was skipped. */
export class OnboardingStore {
  readonly #file: PersonJsonFile<typeof Doc>;

  constructor(documents: DocumentStore) {
    this.#file = new PersonJsonFile(documents, 'ONBOARDING.json', Doc, () => Doc.parse({}));
  }

  /** Records a step once (the first time counts); true when it was new. */
  async mark(userId: UserId, step: OnboardingStep, at: Date): Promise<boolean> {
    const doc = await this.#file.read(userId);
    if (doc.done[step]) return false; // the common case, without taking the lock
    return this.#file.update(userId, (d) => {
      if (d.done[step]) return false;
      d.done[step] = at.toISOString();
      return true;
    });
  }

  async setSkipped(userId: UserId, skipped: boolean): Promise<OnboardingView> {
    await this.#file.update(userId, (d) => {
      d.skipped = skipped;
    });
    return this.view(userId);
  }

  /** True the first time for this channel: the welcome goes out once per channel. */
  async claimWelcome(userId: UserId, channel: string): Promise<boolean> {
    return this.#file.update(userId, (d) => {
      if (d.welcomed.includes(channel)) return false;
      d.welcomed.push(channel);
      return true;
    });
  }

  async view(userId: UserId): Promise<OnboardingView> {
    const doc = await this.#file.read(userId);
    const steps = ONBOARDING_STEPS.map((id) => ({ id, title: STEP_TITLES[id], doneAt: doc.done[id] ?? null }));
    const completed = steps.filter((s) => s.doneAt !== null).length;
    return {
      steps,
      completed,
      total: steps.length,
      skipped: doc.skipped,
      next: steps.find((s) => s.doneAt === null)?.id ?? null,
    };
  }
}
