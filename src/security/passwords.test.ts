import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { UserId } from '../core/entry.js';
import { MemvaultError } from '../core/errors.js';
import { commonPasswords } from './common-passwords.js';
import { checkPasswordPolicy, isCommonPassword, normalizePassword, PASSWORD_MAX_LENGTH } from './passwords.js';

const ruleOf = (password: string, context = {}) => {
  try {
    checkPasswordPolicy(password, context);
    return 'ok';
  } catch (error) {
    expect(error).toBeInstanceOf(MemvaultError);
    expect((error as MemvaultError).code).toBe('VALIDATION_ERROR');
    return (error as MemvaultError).details?.rule;
  }
};

describe('common password list', () => {
  it('ships at least the 10,000 most common passwords, ranked, lower case', () => {
    const list = commonPasswords();
    expect(list.size).toBeGreaterThanOrEqual(10_000);
    expect([...list].slice(0, 3)).toEqual(['123456', 'password', '12345678']);
    expect(list.has('trustno1')).toBe(true);
  });

  it('catches common passwords padded with digits and symbols or with symbol substitutions', () => {
    for (const weak of ['password', 'Password123!', 'P@ssw0rd2024', '!!!sunshine!!!', 'qwertyuiop', 'Dragon1985#']) {
      expect(isCommonPassword(weak), weak).toBe(true);
    }
    for (const strong of ['correct horse battery staple', 'tangerine kayak meridian', 'v8#Lq2!zN0pW']) {
      expect(isCommonPassword(strong), strong).toBe(false);
    }
  });
});

describe('password policy', () => {
  it('accepts long passphrases in any script and returns the NFKC form', () => {
    expect(checkPasswordPolicy('correct horse battery staple')).toBe('correct horse battery staple');
    expect(checkPasswordPolicy('ｆｕｌｌｗｉｄｔｈ ｐａｓｓ ９')).toBe('fullwidth pass 9');
    expect(checkPasswordPolicy('жёлтый апельсин 42')).toBe('жёлтый апельсин 42');
    expect(checkPasswordPolicy('🦊🌲🏔️ fox forest peak')).toBe('🦊🌲🏔️ fox forest peak');
  });

  it('counts characters, not UTF-16 units, against 10..256', () => {
    expect(ruleOf('short1!')).toBe('too_short');
    expect(ruleOf('🦊🦊🦊🦊🦊🦊🦊🦊🦊')).toBe('too_short'); // 9 characters, 18 code units
    expect(ruleOf('x'.repeat(PASSWORD_MAX_LENGTH + 1))).toBe('too_long');
    expect(ruleOf(`ab${'c9'.repeat(127)}`)).toBe('ok'); // exactly 256
  });

  it('refuses the common, the repeated and the blank', () => {
    expect(ruleOf('qwertyuiop')).toBe('common');
    expect(ruleOf('Password123!')).toBe('common');
    expect(ruleOf('aaaaaaaaaaaa')).toBe('repeated');
    expect(ruleOf('            ')).toBe('blank');
  });

  it('refuses the phone number or the name inside the password', () => {
    const userId = '+14155550134' as UserId;
    expect(ruleOf('my number 415-555-0134', { userId })).toBe('contains_phone');
    expect(ruleOf('call 5550134 anytime', { userId })).toBe('contains_phone');
    expect(ruleOf('orchid lantern 2231', { userId })).toBe('ok');
    expect(ruleOf('Margarita rocks 77', { name: 'Margarita López' })).toBe('contains_name');
    expect(ruleOf('xLOPEZ river stone', { name: 'Margarita López' })).toBe('ok'); // "lópez" ≠ "lopez"
    expect(ruleOf('margaritalopez!!', { name: 'Margarita Lopez' })).toBe('contains_name');
    expect(ruleOf('albatross velvet sky', { name: 'Al' })).toBe('ok'); // two-letter names are not checked
  });

  it('messages say what to change and never echo the password', () => {
    try {
      checkPasswordPolicy('Sunshine2024!');
    } catch (error) {
      expect((error as Error).message).toMatch(/most common/);
      expect((error as Error).message).not.toContain('Sunshine2024');
    }
  });

  it('normalisation is idempotent and the policy accepts its own output', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 12, maxLength: 60, unit: 'grapheme' }), (raw) => {
        const once = normalizePassword(raw);
        expect(normalizePassword(once)).toBe(once);
        let accepted: string | undefined;
        try {
          accepted = checkPasswordPolicy(raw);
        } catch {
          return;
        }
        expect(checkPasswordPolicy(accepted)).toBe(accepted);
      }),
    );
  });
});
