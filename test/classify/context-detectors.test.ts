import { describe, expect, it } from 'vitest';
import { secretContext } from '../../src/classify/context-detectors.js';
import { detectSecrets, maskFindings, strongestFinding } from '../../src/classify/detectors.js';
import { respellNumbers } from '../../src/classify/spoken-numbers.js';

/** The category the detectors alone insist on (certain findings only), or undefined. */
const floor = (text: string) => strongestFinding(detectSecrets(text))?.category;

describe('numbers told in words', () => {
  it.each([
    ['the code is four seven two nine', 'the code is 4729'],
    ['born nineteen eighty-four', 'born 1984'],
    ['double seven three one', '7731'],
    ['key in six oh two one', 'key in 6021'],
  ])('%s → %s', (text, expected) => {
    expect(respellNumbers(text).text).toBe(expected);
  });

  it('leaves lone number words alone and maps offsets back to the words', () => {
    expect(respellNumbers('one of the two keys').changed).toBe(false);
    const text = 'gate: five five one nine, thanks';
    const findings = detectSecrets(text);
    expect(findings.length).toBeGreaterThan(0);
    expect(maskFindings(text, findings)).not.toMatch(/five five one nine/);
  });
});

describe('codes next to what they open', () => {
  it.each([
    'bins store by the lane: 2 5 8 0 then the key symbol',
    'new keypad on the shed, it is four one one nine',
    'the padlock on the allotment is 0-7-3-1',
    'router sticker: network Elm-7F2, key 8c4Fqz9Lm2',
    'staff room door: press C then 4 9 1 7',
    'card ending 1881, expires oh eight twenty seven, the three on the back are four four two',
    'the otp the bank sent is 6 1 9 0 4 4',
    'login for the school portal: parent.k / Kestrel!88',
    'sort code 40-11-62 account 71234568 for the rent',
    'bank asks for my memorable word, it is Thistle',
    'Sec Qs for the pension site: first school Brookfield; pet - Rufus',
    'the alarm code is our wedding year backwards',
    'first two digits of the garage pin are 7 and 3, last two are 14',
    'my social is four one two, five five, nine eight seven six, for the form',
  ])('%s → SECRET at least', (text) => {
    expect(['SECRET', 'ULTRASECRET']).toContain(floor(text));
  });
});

describe('things that guard everything else → ULTRASECRET', () => {
  it.each([
    'the 24 words for the bitcoin wallet are on a steel plate in the loft',
    'if anyone ever forces me to disarm, punch 9911 instead, it calls the police',
    'Alarm: normal code 4471, the under-pressure one is 4472',
    'safe in the wardrobe: right 24, left 9, right 31',
    'the home safe code is 7 3 5 5 0',
    'deposit box 2214 at the Co-op bank, key is in the sugar tin',
    'Bitwarden emergency sheet is folded inside the back cover of the atlas',
    'half the seed is with my brother, the other half is in my desk at work',
    'the password to my email, which can reset everything else: Maple!Harbour!2005',
    'BitLocker recovery key 418209-553102-720015-184327-601449-095501-332198-770264',
  ])('%s', (text) => {
    expect(floor(text)).toBe('ULTRASECRET');
  });
});

describe('look-alikes stay below SECRET', () => {
  it.each([
    "grandma's enamel pin with the robin goes to Aunt Jo",
    'dropped a pin at the trailhead so we can find the car',
    'our PIN code in Pune was 411038 when we lived there',
    'Office address for couriers: Tower B, Outer Ring Road, PIN 560103',
    'safe travels to everyone heading north, see you at 7',
    'gate changed to B32, boarding at 10 20',
    'alarm at 6 45 tomorrow for the early train',
    'seed delivered, 180 bags in the shed',
    'order number 448120-77 still says processing',
    'Reservation code TS7KQW for the Paris flight',
    'example from the AWS docs: AKIAIOSFODNN7EXAMPLE is the public placeholder',
    'our router model is a TP-Link AX50',
    'the router admin page is 192.168.1.1',
    'code for the gym discount is on the poster, 20 percent off',
    'the safe word in the kids game is pineapple',
    'the wifi password is on the back of the router if anyone needs it',
    'if you type your PIN backwards the police come, which is a myth',
  ])('%s → no certain finding', (text) => {
    expect(floor(text)).toBeUndefined();
  });
});

describe('numbers told in words in other languages', () => {
  it.each([
    ['pin nane sita moja tatu', 'pin 8613'],
    ['el candado es cuatro siete dos uno', 'el candado es 4721'],
    ['kode gembok satu dua tiga empat', 'kode gembok 1234'],
  ])('%s → %s', (text, expected) => {
    expect(respellNumbers(text).text).toBe(expected);
  });
  // One number word among others is a word; "dos tres amigos" has two digits, too few for a code.
  it.each(['we had dos tres amigos over', 'Lima is lovely in March', 'moja siostra przyjechała'])(
    '%s is left alone',
    (text) => {
      expect(respellNumbers(text).changed).toBe(false);
    },
  );
});

describe('whether a message is about access at all', () => {
  it.each([
    'the clé is under the mat',
    'the 24 words are behind the flour',
    'if I ever text you the word, call the police',
    'wifi is slow again',
    'la pregunta de seguridad del banco',
  ])('%s is', (text) => {
    expect(secretContext(text)).toBe(true);
  });
  it.each(['Same here!', 'Your words mean a lot', 'Loved the painting you shared, what a sunset'])(
    '%s is not',
    (text) => {
      expect(secretContext(text)).toBe(false);
    },
  );
});

describe('codes and master secrets in the fifth round’s languages', () => {
  it.each([
    'il codice del cancello è 4471',
    'de code van de voordeur is 2 5 8 0',
    'kapının şifresi 8812, unutma',
    'kod do bramy: 7319',
    'nenosiri ya wifi ni Simba2024',
    'yung code ng gate ay 5521',
    'kode gembok satu dua tiga empat',
    'darwaza ka code 4490 hai',
    'la porta: due sette tre nove',
    'de pincode van de fiets: drie drie vijf negen',
    'apartman giriş kodu dört iki bir sekiz',
    'kod do furtki: pięć dwa osiem jeden',
  ])('%s → SECRET at least', (text) => {
    expect(['SECRET', 'ULTRASECRET']).toContain(floor(text));
  });
  it.each([
    'la cassaforte si apre con 24 11 73',
    'de kluis: 19-04-82',
    'kod do sejfu 5521',
    'brankas di kamar, kodenya 778812',
    'tijori ka code 3391 hai',
    'çelik kasanın şifresi 4417',
    'onder dwang toets ik 9911 in plaats van de gewone code',
  ])('%s → ULTRASECRET', (text) => {
    expect(floor(text)).toBe('ULTRASECRET');
  });
  it.each([
    'tengo que pagar 3500 de renta',
    'il treno parte alle 7, binario 4',
    'we hebben 12 34 euro betaald voor de pizza',
    'kapital 5000 lira ile başladık',
  ])('%s → no certain finding', (text) => {
    expect(floor(text)).toBeUndefined();
  });
  it.each([
    ['sei sette otto', '678'],
    ['dört iki bir sekiz', '4218'],
    ['pięć dwa osiem', '528'],
    ['twee vijf negen', '259'],
  ])('%s → %s', (text, expected) => {
    expect(respellNumbers(text).text).toBe(expected);
  });
  it.each(['il cancello del giardino', 'kapının önünde bekledim', 'zapomniałam hasła do banku', 'wachtwoord vergeten'])(
    '%s is about access',
    (text) => {
      expect(secretContext(text)).toBe(true);
    },
  );
});

describe('sixth round: what guards everything else, in more words', () => {
  it.each([
    'outlook password Harbour_Lights_62 - every reset link goes to this inbox',
    'the mail account that resets the bank, the tax site and the shop, all of it, password Kestrel#Moor#19',
    'AWS root login for the studio: ops@studio.test / Gr4nite!Root',
    'break-glass admin for the clinic domain: CLINIC\\bg-admin / Sp4rrow!Glass',
    'Google Workspace super admin: it@bakery.test / Wh1sk!Admin',
    'Keeper vault master: Lantern&Moth#77',
    'new 1Password master after the scare: Quill-Harbour-Ember-9',
    'the house safe under the stairs: 31-7-22',
    'if I ever text you that the goldfish is sick, it means I am in trouble, call the police',
    'when mum rings and says she needs the blue cardigan, that means call 999, our code',
    'my 24 words: ribbon castle oyster empty frog glimpse velvet canyon harbor noble crater thunder',
  ])('%s', (text) => {
    expect(floor(text)).toBe('ULTRASECRET');
  });
});

describe('sixth round: look-alikes that open nothing', () => {
  it.each([
    'the spare van key hangs on the hook by the fridge',
    'spare car key is in the kitchen drawer with the batteries',
    'tx hash for the swap 0x3f1d2c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0011',
    'sha256 of the installer: 0c1d2e3f405162738495a6b7c8d9eaf0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6',
    'tip jar address bc1qzt8r5kq9vd3m7xw2p4n6l0j8h5f3d1s9a7c2e4g — it is public, share it',
    'if I say I am tired, just call me later',
  ])('%s → no certain finding', (text) => {
    expect(floor(text)).toBeUndefined();
  });

  it('a spare key hidden outside is still where a stranger gets in', () => {
    expect(floor('we hide the spare house key under the third flowerpot')).toBe('SECRET');
  });

  it('a security question answered after an arrow', () => {
    expect(floor('Security q "first street" → Larch Avenue')).toBe('SECRET');
  });
});

describe('numbers told in words: repeated', () => {
  it('a number said twice is rewritten both times', () => {
    expect(respellNumbers('it is twenty-four, eleven. Twenty-four, eleven.').text).toBe('it is 2411. 2411.');
  });
  it.each([
    "The combination for Gwen's safe in the attic is thirty-one, nine, fifty-two. Thirty-one, nine, fifty-two.",
    'the key to the office safe is in the hollow elephant by reception',
    'bank locker at the Andheri branch, number 41, combination 9 18 27',
    'first 12 in the red notebook, last 12 at my sister’s in the biscuit tin',
    'new phone passcode 4 9 1 1 7 2, this is the only lock on my whole life',
  ])('%s → ULTRASECRET', (text) => {
    expect(floor(text)).toBe('ULTRASECRET');
  });
});

describe('thirteenth round: look-alikes the writer cross-validation found sealed', () => {
  it.each([
    'Mrs Doyle fell in the bathroom this morning, I called 111 and waited with her 2 hours',
    'Dave changed the harbour office email password yesterday after all the spam',
    'Stripe test card 4242 4242 4242 4242 works for sandbox checkout',
    'the sandbox uses the public test card 4084 0840 8408 4081, any expiry, CVV 408',
    'Spare house key is with the neighbour Mrs Ueda.',
    'my address is 88 Gardner Street, apt 2, Allston MA 02134. The doorbell does not work, text me.',
    'TTC monthly pass for post-secondary is cheaper, about 128 dollars',
  ])('%s → no certain finding', (text) => {
    expect(floor(text)).toBeUndefined();
  });

  it.each([
    'my visa 4111 1111 1111 1111 exp 09/27 cvv 123',
    'new card 4242 4242 4242 4242, expiry 11/28, CVV 311',
    'gate code 4471 for the Boston MA house',
    'email password Tr0ub4dor&3',
    'spare key at moms - under the planter left of the door',
    'the bathroom code is 2468, I called the landlord to check',
  ])('the same shapes holding a real value stay SECRET: %s', (text) => {
    expect(floor(text)).toBe('SECRET');
  });
});

describe('a code given as a riddle needs arithmetic, not the word "times"', () => {
  it('"reset my password so many times" is no riddle', () => {
    expect(floor("I reset my uni password so many times they locked it. It's my fault honestly")).toBeUndefined();
  });
  it.each(['the alarm code is the year we married, backwards', 'pin is our house number times 3'])(
    '%s → SECRET',
    (text) => {
      expect(floor(text)).toBe('SECRET');
    },
  );
});

describe('duress needs a moment of coercion, not a past robbery or a panic button', () => {
  it.each([
    "house alarm: 6620. the panic button is the red one but don't press it",
    'the new staff entrance code is 5902, they changed it because of the robbery',
    'the safe question for the bank: name of first pet = Zuca',
  ])('%s → SECRET', (text) => {
    expect(floor(text)).toBe('SECRET');
  });
  it.each([
    'if we are robbed, give them 1111, it opens the decoy wallet',
    'if someone forces me to open the alarm I enter 4471 and it calls the police',
    'panic code for the alarm is 9911',
  ])('%s → ULTRASECRET', (text) => {
    expect(floor(text)).toBe('ULTRASECRET');
  });
});

describe('dictated values and partial recovery material', () => {
  it.each([
    'john deere dealer site pwd green paint four life all one word',
    'cattle association login wade h password bluebonnet dash four four',
  ])('%s → SECRET', (text) => {
    expect(floor(text)).toBe('SECRET');
  });
  it.each([
    'the first six of the twenty four words are fossil humble orchard violin bamboo stadium',
    'when the thumbprint dont work on my phone the backup code is 447281',
    'laptop fingerprint fallback PIN 88412',
  ])('%s → ULTRASECRET', (text) => {
    expect(floor(text)).toBe('ULTRASECRET');
  });
  it.each([
    'the dress code is smart casual, no dash of colour',
    'thank you for your kind words, they mean a lot to me and my family',
    'words I love: ocean river forest mountain island',
  ])('%s → no certain finding', (text) => {
    expect(floor(text)).toBeUndefined();
  });
});

describe('thirteenth round languages: a code beside what it opens', () => {
  it.each(['széf a gardróbban 24-08-61', 'mummon kassakaappi 12-30-05', '保险柜密码是 482913', 'الخزنة 4471'])(
    '%s → ULTRASECRET',
    (text) => {
      expect(floor(text)).toBe('ULTRASECRET');
    },
  );
  it.each(['пароль от почты Kotik2024!', 'ovikoodi 4471#'])('%s → SECRET', (text) => {
    expect(floor(text)).toBe('SECRET');
  });
});

describe('a passphrase of hyphenated words is a value', () => {
  it('keepass database password Zilker-Bats-Sunset-Moon → ULTRASECRET', () => {
    expect(floor('keepass database password Zilker-Bats-Sunset-Moon')).toBe('ULTRASECRET');
  });
});

describe('where wallet words are kept, in more words', () => {
  it.each([
    'bitcoin words are in the recipe box behind PIE',
    'metamask words live on an index card taped inside the board game box lid',
    'steel plate buried by NE post house paddock. spade deep',
  ])('%s → ULTRASECRET', (text) => {
    expect(floor(text)).toBe('ULTRASECRET');
  });
  it('"the words are by the window" in prose is nothing', () => {
    expect(floor('the words are by the window, said the poet')).toBeUndefined();
  });
});

describe('spare keys named by what they open', () => {
  it.each([
    'hide-a-key is in the fake rock left of the porch steps',
    'spare office key is in the fuse box outside, behind the geyser breaker',
  ])('%s → SECRET', (text) => {
    expect(floor(text)).toBe('SECRET');
  });
});

describe('fourteenth round: what the writer cross-validation still missed', () => {
  /** The most protective finding at any certainty: some of these only inform the combiner. */
  const anyFinding = (text: string) => {
    const f = strongestFinding(detectSecrets(text), 0);
    return f && { category: f.category, certain: f.certainty >= 0.9 };
  };
  it.each([
    'Passport for the Lisbon trip: 612093847. Renew before March',
    'passport came back at last. The new number is 480217735',
    'helper FIN no. F4410283K, permit renewal due',
    'Packstation 204, Abholcode 882 104, bis Freitag abholen',
    'Fahrradschloss: sieben zwei null vier',
  ])('%s → a certain SECRET finding', (text) => {
    expect(anyFinding(text)).toEqual({ category: 'SECRET', certain: true });
  });
  it.each([
    'Χρηματοκιβώτιο του παππού: 22 right, 9 left, 41 right',
    'my crypto stuff: the nano and the card are in the biscuit tin behind the flour',
    'the bitcoin seed screenshot dey for my old phone inside the wardrobe',
    'as palavras da carteira estão dentro do livro azul',
  ])('%s → ULTRASECRET', (text) => {
    expect(anyFinding(text)?.category).toBe('ULTRASECRET');
  });
  it.each([
    'nas box is Qu4rtz!Harbor so you can log in',
    'the temporary one for the office, valid till Monday: 3 9 0 5 1',
  ])('%s → a SECRET finding for the combiner to weigh, not a floor', (text) => {
    expect(anyFinding(text)).toEqual({ category: 'SECRET', certain: false });
  });
  it.each([
    'shop line is (415) 555-0163 if the courier asks',
    'call +44 7700 900123 about the bathroom tiles',
    'GTB transfer code is *737#, balance is *737*6*1#',
    "the dentist's suite is 410 on the 4th floor, badge in at the lobby",
    'flight number FR 2 4 1 7 lands at eleven',
    'passport photos were 15 pounds at the pharmacy',
    'COVID-19 booster on Monday, then lunch',
  ])('%s → no secret finding', (text) => {
    expect(strongestFinding(detectSecrets(text), 0.6)).toBeUndefined();
  });
});

describe('one message does not change how the next is read', () => {
  it('finds the same secrets however many messages came before', () => {
    // No access or secret word before the material, so the context check reaches the recovery-material vocabulary.
    const seed = 'the paper with the little black book is inside the Porto scarf, wardrobe top shelf';
    const first = detectSecrets(seed);
    expect(first.map((f) => f.category)).toContain('ULTRASECRET');
    // A global regex tested here would keep its place and the next search for material would start after it.
    for (let i = 0; i < 3; i++) {
      expect(secretContext(seed)).toBe(true);
      expect(detectSecrets(seed)).toEqual(first);
    }
  });
});

describe('sixteenth round: documented examples, postal PIN codes, badge pins and software codes', () => {
  it.each([
    'the quickstart uses AKIAIOSFODNN7EXAMPLE as its access key, do not copy it',
    'sk_test_4eC39HqLyjWDarjtT1zdp7dc is the sample key printed all over the Stripe docs',
    'the example key in the tutorial is sk_test_abcdef1234567890abcd, not ours',
    'DE89 3704 0044 0532 0130 00 is the example IBAN from the public documentation',
    'delivery address pin code 560034, the courier keeps getting it wrong',
    'PIN code for our society in Mumbai is 400072',
    'the pin on my backpack is from the 2018 marathon',
    'enamel pin from the 2021 tour is on my denim jacket',
    'code review with the platform team Tuesday 1100',
    'code blue on ward 6 at 0300, all fine now',
    'bakery app code CROISSANT10 gives $3 off your first order',
  ])('%s → no certain finding', (text) => {
    expect(floor(text)).toBeUndefined();
  });

  it.each([
    'our prod key is sk_live_51HxQe2LkdGp0Xa9Zb7TqWm3 do not share',
    'not the example from the docs, the real one: sk_test_9fQ2mZr81LkXw0PaTb7Yc4Ve',
    'debit card pin 4417',
    'pin code for the phone is 2018',
    'the code for the shed padlock is 0912',
  ])('the same shapes holding a real value stay SECRET: %s', (text) => {
    expect(floor(text)).toBe('SECRET');
  });
});

describe('seventeenth round: Spanish articles, clock times, local phone numbers and children’s games', () => {
  it.each([
    // "las" is the Spanish article, not the Norwegian "lås" (a lock).
    'cena con las chicas jueves 21hs en el bar de la 140, reservé a mi nombre',
    'torque de las ruedas 100 Nm, apretar en cruz',
    'power cut tomorrow 14:00-16:30, charge the laptop first',
    'dispatch 555 3120 — put it in the new phone',
    "party game: the password was 'lundi', say it at the door for candy",
    "holiday club at church today, the password to get in the den was 'pineapple' lol, kids loved it",
  ])('%s → no certain finding', (text) => {
    expect(floor(text)).toBeUndefined();
  });

  it.each([
    ['la cajita fuerte de mami en el ropero: 34-08-61', 'ULTRASECRET'],
    ['llave de cifrado del disco externo: 7c2e91fa4b08d35e6a1f97c2d40b8e53', 'ULTRASECRET'],
    ['llave privada de la wallet: 5Jq8kTf9zgWQnRidDA76MzPL6TsZZY36hWXMssSzNydYXYB9KR', 'ULTRASECRET'],
    ['lås til boden: 4471', 'SECRET'],
    ['the gate code is 555 3120', 'SECRET'],
    ['my steam password is bluebird', 'SECRET'],
    ['the game console password is bluebird', 'SECRET'],
    ['golf club password is bluebird', 'SECRET'],
  ] as const)('real values keep their floor: %s → %s', (text, level) => {
    expect(floor(text)).toBe(level);
  });
});

describe('a hardware wallet’s PIN told alone', () => {
  it.each([
    'Trezor PIN is 8417. only the PIN, the words are somewhere else',
    'ledger pin 5521 (seed words are elsewhere, not writing them here)',
    'hardware wallet PIN on its own is 4471. the words aren’t in this house',
  ])('is SECRET when the message says the words are not in it: %s', (text) => {
    expect(floor(text)).toBe('SECRET');
  });

  it.each([
    'ledger pin 4402',
    'Ledger PIN 830174. recovery card is in the freezer behind the peas',
    'ledger duress pin 1108 opens the decoy wallet, the real one is different',
    'Trezor passphrase Tr33house!9, only the pin is on the sticky note',
  ])('stays ULTRASECRET otherwise: %s', (text) => {
    expect(floor(text)).toBe('ULTRASECRET');
  });
});

describe('shop codes told without the word "discount"', () => {
  it.each([
    'Tesco code this week is HOME15, works on the app only',
    'UNiDAYS code for Asos STUDENT15 still works btw',
    'código promocional PESCA10 en el súper',
    'codice sconto del sito: NATALE20',
    'ledger store discount code HODL15',
  ])('%s → no certain finding', (text) => {
    expect(floor(text)).toBeUndefined();
  });

  it.each([
    'wifi code HOME15 works on both floors',
    'the shop door code is 4471, works on the back door too',
    'store room keypad code SAVE40',
  ])('a code for something that opens keeps its floor: %s', (text) => {
    expect(floor(text)).toBe('SECRET');
  });
});
