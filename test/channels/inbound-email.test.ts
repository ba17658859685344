import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import type { UserId } from '../../src/core/entry.js';
import { type ChannelServer, startChannelServer } from './harness.js';

/**
 * Inbound e-mail (issue 11, "inbound optional"): a per-person secret address, received by memvault's own SMTP
 * server (smtp-server), parsed with mailparser, stored through the same pipeline — sent by a real SMTP client
 * (nodemailer) over loopback.
 */

const PHONE = '+351912345675';
const userId = PHONE as UserId;
const DOMAIN = 'in.example.org';
let s: ChannelServer;
let token = '';
let port = 0;
let address = '';

const api = async (method: string, path: string) => {
  const res = await fetch(`${s.base}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const transport = () =>
  nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'client.example' });
const mail = (to: string, fields: Record<string, unknown>) =>
  transport().sendMail({ from: 'Ana <ana@example.net>', to, ...fields });

beforeAll(async () => {
  // The SMTP port is chosen here but bound only by channels.start(), after the stand-ins and the HTTP server have
  // asked for ports of their own: held until then, so none of them is given it.
  const hold = createServer();
  await new Promise<void>((resolve) => hold.listen(0, '127.0.0.1', resolve));
  port = (hold.address() as AddressInfo).port;
  s = await startChannelServer({
    MEMVAULT_INBOUND_SMTP_PORT: String(port),
    MEMVAULT_INBOUND_MAIL_DOMAIN: DOMAIN,
  });
  await new Promise<void>((resolve) => hold.close(() => resolve()));
  await s.mv.channels.start();
  const res = await fetch(`${s.base}/v1/auth/sign-up`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: PHONE, password: 'correct horse battery staple 42', name: 'Ana' }),
  });
  expect(res.status).toBe(201);
  token = ((await res.json()) as { token: string }).token;
}, 60_000);

afterAll(async () => {
  await s?.close();
});

describe('writing memories by e-mail to a secret address', () => {
  it('shows the person their secret address in the channel settings, the same each time', async () => {
    const first = await api('GET', '/v1/settings/channels');
    address = String(first.body.mailAddress);
    expect(address).toMatch(new RegExp(`^[a-z2-7]{20}@${DOMAIN.replace(/\./g, '\\.')}$`));
    expect((await api('GET', '/v1/settings/channels')).body.mailAddress).toBe(address);
  });

  it('stores a mail (subject and text) once, even when the sending server delivers it twice', async () => {
    const sent = await mail(address, {
      subject: 'Sunday at the beach',
      text: 'Swam at Carcavelos with Sara, the water was cold.',
      messageId: '<beach-1@example.net>',
    });
    expect(sent.accepted).toEqual([address]);
    await mail(address.toUpperCase(), {
      subject: 'Sunday at the beach',
      text: 'Swam at Carcavelos with Sara, the water was cold.',
      messageId: '<beach-1@example.net>',
    });
    const mem = await s.memories(userId);
    expect(mem.total).toBe(1);
    expect(mem.entries[0]).toMatchObject({
      channel: 'email',
      content: 'Sunday at the beach\n\nSwam at Carcavelos with Sara, the water was cold.',
    });
    // The secret address never reaches the entry.
    expect(JSON.stringify(mem.entries[0])).not.toContain(address.split('@')[0]);
  });

  it('an HTML-only mail is stored as its text; a secret one is sealed', async () => {
    await mail(address, { html: '<p>Bought <b>tickets</b> for the Lisbon concert</p>' });
    await mail(address, { text: 'My debit card PIN is 8812' });
    const mem = await s.memories(userId);
    expect(mem.entries.map((e) => e.content)).toContain('Bought tickets for the Lisbon concert');
    expect(mem.entries.map((e) => e.content)).not.toContain('My debit card PIN is 8812');
    expect(mem.total).toBe(3);
    for (const body of s.allOutbound()) expect(body).not.toContain('8812');
  });

  it('an unknown address, another domain, an empty or too large mail is refused and stores nothing', async () => {
    const before = (await s.memories(userId)).total;
    await expect(mail(`aaaaaaaaaaaaaaaaaaaa@${DOMAIN}`, { text: 'hello' })).rejects.toMatchObject({
      responseCode: 550,
    });
    await expect(mail(`${address.split('@')[0]}@other.example`, { text: 'hello' })).rejects.toMatchObject({
      responseCode: 550,
    });
    await expect(mail(address, { subject: '', text: '   ' })).rejects.toMatchObject({ responseCode: 550 });
    await expect(mail(address, { text: 'x'.repeat(1_100_000) })).rejects.toMatchObject({ responseCode: 552 });
    // Longer than a memory may be (MEMVAULT_MAX_CONTENT_BYTES), smaller than the mail limit: bounced with why.
    const long = mail(address, { text: 'word '.repeat(20_000) });
    await expect(long).rejects.toMatchObject({ responseCode: 550 });
    await expect(long).rejects.toThrow(/Not saved/);
    expect((await s.memories(userId)).total).toBe(before);
  });

  it('60 mails at once: the ones over the rate get 451 (the sender retries), every accepted one is stored', async () => {
    const before = (await s.memories(userId)).total;
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => mail(address, { text: `Burst note number ${i} about the garden` })),
    );
    const accepted = results.filter((r) => r.status === 'fulfilled').length;
    const codes = results.map((r) =>
      r.status === 'rejected' ? (r.reason as { responseCode?: number }).responseCode : 250,
    );
    // 451 over the person's rate; 421 past the server's 50 connections: both tell the sender to retry later.
    expect(codes.filter((c) => c === 451).length).toBeGreaterThan(0);
    expect(codes.every((c) => c === 250 || c === 451 || c === 421)).toBe(true);
    expect(accepted).toBeGreaterThan(0);
    expect((await s.memories(userId)).total).toBe(before + accepted);
  }, 60_000);

  it('a new address replaces the old one at once', async () => {
    const next = await api('POST', '/v1/settings/channels/mail-address');
    expect(next.status).toBe(200);
    const fresh = String(next.body.mailAddress);
    expect(fresh).not.toBe(address);
    await expect(mail(address, { text: 'to the old address' })).rejects.toMatchObject({ responseCode: 550 });
    await mail(fresh, { text: 'Booked the dentist for Tuesday' });
    expect((await s.memories(userId)).entries.map((e) => e.content)).toContain('Booked the dentist for Tuesday');
  });
});

describe('inbound e-mail configuration', () => {
  it('is off unless both variables are set; half of it, or a bad domain, is an error naming the variable', () => {
    expect(loadConfig({}).channels?.inboundMail).toBeNull();
    expect(() => loadConfig({ MEMVAULT_INBOUND_SMTP_PORT: '2525' })).toThrow(/MEMVAULT_INBOUND_MAIL_DOMAIN/);
    expect(() => loadConfig({ MEMVAULT_INBOUND_MAIL_DOMAIN: 'in.example.org' })).toThrow(/MEMVAULT_INBOUND_SMTP_PORT/);
    expect(() =>
      loadConfig({ MEMVAULT_INBOUND_SMTP_PORT: '2525', MEMVAULT_INBOUND_MAIL_DOMAIN: 'not a domain' }),
    ).toThrow(/MEMVAULT_INBOUND_MAIL_DOMAIN/);
    expect(
      loadConfig({ MEMVAULT_INBOUND_SMTP_PORT: '2525', MEMVAULT_INBOUND_MAIL_DOMAIN: 'In.Example.ORG' }).channels
        ?.inboundMail,
    ).toEqual({ host: '127.0.0.1', port: 2525, domain: 'in.example.org' });
  });
});
