import type { ChannelKind, OutboundMessage, OutboundPurpose } from '../ports/channels.js';

/**
 * Message templates per language. Each template is a subject and paragraphs; the text and the HTML of an
 * e-mail come from the same paragraphs, so they never say different things. Placeholders are `{name}`; values
 * are escaped for HTML. A new language is one more entry of `TEMPLATES` with the same keys (the type checks it).
 */
export interface Template {
  readonly subject: string;
  readonly paragraphs: readonly string[];
}

export type TemplateName =
  | 'welcome'
  | 'invite'
  | 'help'
  | 'code'
  | 'code_prompt'
  | 'linked'
  | 'stopped'
  | 'started'
  | 'digest'
  | 'alert'
  | 'empty'
  | 'unsupported'
  | 'edited'
  | 'slow_down';

const en: Readonly<Record<TemplateName, Template>> = {
  welcome: {
    subject: 'Welcome to memvault',
    paragraphs: [
      'Welcome to memvault{who}. Write to me here whenever something happens and I will remember it for you.',
      'Every message is sorted into a category: Chronological, Thoughts, Medical, Financial, Personal, Secret or Ultra-secret. Each category has a security level from 1 to 4; levels 2 to 4 are sealed so that only you, with your password or passkey, can open them.',
      'Replies here show only level-1 content. Anything higher is saved and sealed, and I only say where it went.',
      'If you lose your password, sealed memories can only be opened again with your recovery kit — keep it somewhere safe.',
      'Try: /search <words>, /today, /undo, /help.',
    ],
  },
  invite: {
    subject: 'Join memvault',
    paragraphs: [
      'This number is not registered with memvault yet, so nothing was saved.',
      'Sign up at {url} with this phone number, then write to me again.',
    ],
  },
  help: {
    subject: 'memvault help',
    paragraphs: [
      'Send any message to save it. Commands: /search <words> · /today (your digest) · /undo (the last message, within 10 minutes) · /stop · /help.',
      'Getting started: {progress}.',
    ],
  },
  code: {
    subject: 'Your memvault code',
    paragraphs: ['Your memvault code is {code}. It expires in 10 minutes. Never share it with anyone.'],
  },
  code_prompt: {
    subject: 'Confirm this number',
    paragraphs: [
      'To link this chat to your memvault, reply with the 6-digit code we just sent to your number. Nothing is saved until then.',
    ],
  },
  linked: { subject: 'Linked', paragraphs: ['This chat is now linked to your memvault.'] },
  stopped: {
    subject: 'Stopped',
    paragraphs: [
      'You will not get messages from memvault here, and messages here are not saved. Send START to resume.',
    ],
  },
  started: { subject: 'Resumed', paragraphs: ['Welcome back: messages here are saved again.'] },
  digest: { subject: 'Your memvault digest for {day}', paragraphs: ['{digest}'] },
  alert: {
    subject: 'memvault security alert',
    paragraphs: [
      'Unusual activity on your memvault: {what} at {at}.',
      'If this was not you, sign in, end all sessions and change your password.',
    ],
  },
  empty: { subject: 'Empty message', paragraphs: ['That message was empty, so nothing was saved.'] },
  unsupported: {
    subject: 'Not saved',
    paragraphs: ['I can save text (and captions of photos and files); this message had none, so nothing was saved.'],
  },
  edited: {
    subject: 'Edit not applied',
    paragraphs: [
      'Edits are not applied to saved memories; the original stays. Send the corrected text as a new message, and /undo the old one if it is recent.',
    ],
  },
  slow_down: {
    subject: 'Slow down',
    paragraphs: ['Too many messages at once; this one was not saved. Send it again in a moment.'],
  },
};

export const TEMPLATES: Readonly<Record<string, Readonly<Record<TemplateName, Template>>>> = { en };

const PURPOSE: Readonly<Record<TemplateName, OutboundPurpose>> = {
  welcome: 'welcome',
  invite: 'reply',
  help: 'reply',
  code: 'code',
  code_prompt: 'reply',
  linked: 'reply',
  stopped: 'reply',
  started: 'reply',
  digest: 'digest',
  alert: 'alert',
  empty: 'reply',
  unsupported: 'reply',
  edited: 'reply',
  slow_down: 'reply',
};

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function fill(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\{(\w+)\}/g, (whole, key: string) => vars[key] ?? whole);
}

/** Renders a template in the person's language (falling back to English) for a channel. */
export function render(
  name: TemplateName,
  vars: Readonly<Record<string, string>> = {},
  options: { readonly locale?: string; readonly channel?: ChannelKind | 'inapp' } = {},
): OutboundMessage {
  const lang = (options.locale ?? 'en').slice(0, 2);
  const t = (TEMPLATES[lang] ?? en)[name];
  const paragraphs = t.paragraphs.map((p) => fill(p, vars));
  const subject = fill(t.subject, vars);
  const text = paragraphs.join('\n\n');
  if (options.channel !== 'email') return { purpose: PURPOSE[name], subject, text };
  const html =
    `<!doctype html><html><body style="font-family:sans-serif;max-width:36em">` +
    paragraphs.map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`).join('') +
    '</body></html>';
  return { purpose: PURPOSE[name], subject, text, html };
}
