/**
 * Builds the labelled classifier corpus (corpus/messages.jsonl) and its fixed held-out split (corpus/split.json).
 * Deterministic: a seeded generator, so re-running reproduces the committed files byte for byte.
 *
 *   npx tsx corpus/build-corpus.ts
 *
 * Two sources, both written by us for memvault (see corpus/README.md): hand-written messages
 * (corpus/handwritten.tsv) and slot-filled templates below, then a noise pass (lowercase, typos, emoji,
 * texting abbreviations) that mimics how people message an assistant from a phone.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Label = 'CHRONOLOGICAL' | 'GENERAL' | 'CONFIDENTIAL' | 'SECRET' | 'ULTRASECRET';
const HERE = dirname(fileURLToPath(import.meta.url));

// mulberry32: small, seeded, good enough for sampling.
let seed = 0x6d656d76;
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const chance = (p: number) => rand() < p;
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const digits = (n: number) => Array.from({ length: n }, () => int(0, 9)).join('');

// ---------------------------------------------------------------------------------------------------------
// Slot vocabularies

const PEOPLE = ['Sam', 'Maria', 'Dad', 'Mom', 'grandma', 'Jake', 'Priya', 'Tom', 'Aisha', 'Luca', 'my sister', 'my brother', 'Chen', 'Olivia', 'Mateo', 'Nina', 'my wife', 'my husband', 'the kids', 'Ben', 'Fatima', 'Kenji', 'Zoe', 'uncle Ray', 'my neighbour', 'Hannah', 'Diego', 'my boss', 'Emma', 'Noah', 'Grace', 'the twins', 'my cousin', 'Ahmed', 'Lily', 'Marcus', 'Sofia', 'Raj', 'Tyler'];
const PLACES = ['the park', 'the beach', 'the aquarium', 'the zoo', 'Costco', 'the farmers market', 'the gym', 'the library', 'IKEA', 'the dentist', 'the airport', 'the lake', 'the museum', 'that new thai place', 'the mall', 'church', 'the office', 'the cinema', 'Trader Joes', 'the pool', 'the hardware store', 'the vet', 'the climbing gym', 'the bakery on 5th', 'Lisbon', 'Grandmas house', 'the cabin', 'the stadium', 'the school play', 'the pub', 'the botanical garden', 'the skatepark', 'the concert hall', 'Target', 'the coffee shop'];
const PAST_TIME = ['today', 'this morning', 'this afternoon', 'tonight', 'yesterday', 'last night', 'last weekend', 'on Saturday', 'last Friday', 'earlier today', 'two days ago', 'last week', 'on March 3rd', 'Sunday morning', 'at lunch', 'this evening', 'just now', 'an hour ago', 'over the weekend', 'on Tuesday', 'in June', 'last summer', 'yesterday evening', 'on my birthday', 'at 7am', 'around noon', 'on christmas eve', 'the other day'];
const FUTURE_TIME = ['tomorrow', 'next week', 'on Friday', 'next month', 'this weekend', 'in April', 'next summer', 'on the 14th', 'after work', 'someday'];
const ACTIVITIES_PAST = ['went for a run', 'took the kids to {place}', 'had lunch with {person}', 'went to {place}', 'finally cleaned the garage', 'watched the new Dune movie', 'baked sourdough', 'ran 5k in 27 min', 'planted tomatoes', 'had coffee with {person}', 'went hiking with {person}', 'visited {person}', 'picked up {person} from {place}', 'drove to {place}', 'fixed the leaking tap', 'finished the puzzle', 'got a haircut', 'had a picnic at {place}', 'took the dog to {place}', 'walked along the river', 'played tennis with {person}', 'went swimming at {place}', 'painted the fence', 'met {person} at {place}', 'flew back from Denver', 'caught the early train', 'cooked paella for {person}', 'went to a concert', 'saw fireworks', 'watched the game with {person}', 'biked to work', 'got stuck in traffic for an hour', 'assembled the new bookshelf', 'went to the farmers market', 'helped {person} move', 'tried the new ramen spot', 'read 100 pages', 'did yoga', 'went fishing with {person}', 'took {person} to {place}', 'had a video call with {person}', 'built a snowman with {person}', 'went skiing', 'had dinner at {place}', 'finished the marathon', 'saw a deer in the backyard', 'lost my keys at {place}', 'found a great used bike', 'missed the bus', 'celebrated {person}s birthday', 'got my hair cut', 'passed my driving test', 'dropped my phone in a puddle', 'took mom to her appointment', 'burned the toast', 'washed the car', 'watched the sunset from the pier', 'signed up for a 10k', 'repainted the bathroom', 'hosted game night', 'went bowling with {person}', 'chopped firewood', 'went to a pottery class', 'tried a new recipe', 'went to the vet with the cat', 'carved pumpkins with {person}', 'took a nap in the hammock', 'went berry picking', 'visited the castle', 'saw the northern lights', 'fell off my bike', 'sang karaoke with {person}', 'went thrift shopping', 'replaced the car battery', 'got a new tattoo', 'cleaned the gutters', 'went to the opera with {person}', 'built a sandcastle with {person}', 'played board games', 'went to the car boot sale', 'got locked out of the house', 'watched {person} play in the band', 'went ice skating', 'had a bonfire', 'spent hours at the laundromat'];
const EMO_TAIL = ['', '', '', ' it was amazing', ' so tired now', ' best day in ages', ' loved it', ' kinda boring tbh', ' what a day', ' really fun', ' felt great', ' ugh', ' so proud', ' good times', ' exhausted but happy', ' it rained the whole time', ' such a nice vibe'];
const FOODS = ['kimchi', 'rye bread', 'grapefruit', 'earl grey', 'medium rare steak', 'blue cheese', 'peanut butter cups', 'pickles', 'oat milk', 'dark chocolate', 'spicy food', 'sushi', 'black coffee', 'green tea', 'thin crust pizza', 'cilantro', 'olives', 'pad thai', 'almond butter', 'iced lattes', 'mango', 'sparkling water'];
const TOPICS = ['woodworking', 'birdwatching', 'photography', 'the stock market history', 'ancient egypt', 'knitting', 'astronomy', 'gardening', 'rust programming', 'wine regions', 'the roman empire', 'octopuses', 'black holes', 'sourdough', 'the french revolution', 'bees', 'tides', 'volcanoes', 'jazz', 'chess openings'];

function person() {
  return pick(PEOPLE);
}
function fill(t: string): string {
  return t
    .replaceAll('{place}', () => pick(PLACES))
    .replaceAll('{person}', () => person())
    .replaceAll('{food}', () => pick(FOODS))
    .replaceAll('{past}', () => pick(PAST_TIME))
    .replaceAll('{future}', () => pick(FUTURE_TIME))
    .replaceAll('{topic}', () => pick(TOPICS))
    .replaceAll('{n}', () => String(int(2, 60)))
    .replaceAll('{money}', () => `$${int(1, 90)}${pick(['', ',000', '00', 'k'])}`);
}

// ---------------------------------------------------------------------------------------------------------
// Secret values

function luhnCard(prefix: string, len: number): string {
  let body = prefix + digits(len - prefix.length - 1);
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  body += String((10 - (sum % 10)) % 10);
  return pick([body.replace(/(\d{4})(?=\d)/g, '$1 '), body.replace(/(\d{4})(?=\d)/g, '$1-'), body]);
}
function iban(): string {
  const [cc, len] = pick([['DE', 22], ['GB', 22], ['FR', 27], ['NL', 18], ['ES', 24], ['IT', 27]] as const);
  const bban = cc === 'GB' || cc === 'NL' ? pick(['NWBK', 'ABNA', 'BARC', 'RABO']) + digits(len - 8) : digits(len - 4);
  const numeric = (bban + cc + '00').replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let r = 0;
  for (const d of numeric) r = (r * 10 + Number(d)) % 97;
  const check = String(98 - r).padStart(2, '0');
  const raw = cc + check + bban;
  return chance(0.5) ? raw.replace(/(.{4})(?=.)/g, '$1 ') : raw;
}
const WORDS = readFileSync(join(HERE, '..', 'assets', 'classifier', 'bip39-english.txt'), 'utf8').split('\n').filter(Boolean);
function mnemonic(n: number): string {
  const entropyBits = (n * 11 * 32) / 33;
  const entropy = Buffer.from(Array.from({ length: entropyBits / 8 }, () => int(0, 255)));
  const hash = createHash('sha256').update(entropy).digest();
  let bits = [...entropy].map((b) => b.toString(2).padStart(8, '0')).join('');
  bits += hash[0]!.toString(2).padStart(8, '0').slice(0, n / 3);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(WORDS[Number.parseInt(bits.slice(i * 11, i * 11 + 11), 2)]!);
  return words.join(' ');
}
const CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const rnd = (n: number, alphabet = CHARS) => Array.from({ length: n }, () => alphabet[int(0, alphabet.length - 1)]).join('');
function password(): string {
  return pick([
    () => pick(['hunter', 'sunshine', 'Dragon', 'monkey', 'Summer', 'bluebird', 'Pepper', 'maple', 'Tiger', 'rosebud', 'Falcon', 'coffee']) + int(1, 9999) + pick(['', '!', '#', '$', '?']),
    () => rnd(int(10, 16), CHARS + '!@#$%^&*'),
    () => pick(['Tr0ub4dor&3', 'P@ssw0rd2024', 'Ilovemydog!', 'Zebra-Cactus-91', 'qwerty123', 'letmein2023', 'Guitar_hero7', 'M00nlight!', 'Ch1ck3nW1ngs']),
    () => `${pick(['purple', 'lazy', 'rapid', 'silent'])}-${pick(['otter', 'river', 'castle', 'piano'])}-${int(10, 99)}`,
  ])();
}
const SERVICES = ['gmail', 'netflix', 'bank', 'chase', 'amazon', 'facebook', 'instagram', 'work laptop', 'icloud', 'outlook', 'spotify', 'paypal', 'venmo', 'the router admin', 'hulu', 'school portal', 'e-mail', 'wells fargo', 'dropbox', 'steam', 'the HOA site', 'uber', 'linkedin', 'tax portal', 'health insurance portal'];
const apiKey = () =>
  pick([
    () => `sk-${rnd(40)}`,
    () => `sk-proj-${rnd(48)}`,
    () => `ghp_${rnd(36)}`,
    () => `xoxb-${digits(11)}-${digits(12)}-${rnd(24)}`,
    () => `AKIA${rnd(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
    () => `AIza${rnd(35)}`,
    () => `eyJhbGciOiJIUzI1NiJ9.eyJ${rnd(30)}.${rnd(43)}`,
    () => `sk_live_${rnd(24)}`,
  ])();
const hex64 = () => rnd(64, '0123456789abcdef');
const recoveryCodes = () => Array.from({ length: int(2, 6) }, () => `${rnd(4, 'abcdefghjkmnpqrstuvwxyz23456789')}-${rnd(4, 'abcdefghjkmnpqrstuvwxyz23456789')}`).join(' ');

// ---------------------------------------------------------------------------------------------------------
// Templates per label

const T: Record<Label, Array<() => string>> = {
  CHRONOLOGICAL: [
    () => fill(`${pick(['', 'we ', 'I '])}${pick(ACTIVITIES_PAST)} {past}.${pick(EMO_TAIL)}`),
    () => fill(`{past} ${pick(['I', 'we', '{person} and I'])} ${pick(ACTIVITIES_PAST)}${pick(EMO_TAIL)}`),
    () => fill(`Just got back from {place} with {person}${pick(EMO_TAIL)}`),
    () => fill(`{past} I ${pick(['reset my', 'changed my', 'got locked out of my', 'forgot my', 'updated my'])} ${pick(SERVICES)} ${pick(['password', 'pin', 'account'])}${pick(['', ' and it took forever', ', so annoying', ' after the data breach', ' for the third time'])}`),
    () => fill(`{person} ${pick(['lost a tooth', 'took their first steps', 'won the spelling bee', 'scored a goal', 'started kindergarten', 'got a puppy', 'came over for dinner', 'graduated', 'visited from Ohio', 'broke a plate'])} {past}${pick(EMO_TAIL)}`),
    () => fill(`${pick(['Our flight', 'The train', 'My package', 'The new couch', 'The plumber', 'The power'])} ${pick(['arrived', 'was delayed 3 hours', 'finally came', 'went out for two hours', 'showed up late'])} {past}`),
    () => fill(`Spent {past} at {place}. ${pick(['', 'Great weather.', 'Super crowded.', 'The kids loved it.', 'Would go again.'])}`),
    () => fill(`{past}: ${pick(ACTIVITIES_PAST)}, then ${pick(ACTIVITIES_PAST)}`),
    () => fill(`first time ${pick(['trying', 'visiting', 'seeing'])} {place} {past}${pick(EMO_TAIL)}`),
    () => fill(`had a ${pick(['great', 'rough', 'long', 'chill', 'busy', 'weird'])} day at work {past}, ${pick(['presented the Q3 slides', 'shipped the release', 'met the new intern', 'had 6 meetings', 'fixed the build'])}`),
    () => fill(`${pick(['Anniversary dinner', 'Family bbq', 'Book club', 'Team offsite', 'Kids recital', 'Soccer practice', 'Wedding rehearsal'])} {past} at {place}${pick(EMO_TAIL)}`),
  ],
  GENERAL: [
    () => fill(`I ${pick(['prefer', 'really like', 'love', 'hate', "can't stand", 'am into'])} {food}`),
    () => fill(`{person}'s favourite ${pick(['color', 'food', 'band', 'movie', 'flower', 'book'])} is ${pick(['green', 'tacos', 'Radiohead', 'Up', 'tulips', 'Dune', 'blue', 'lasagna'])}`),
    () => fill(`remember ${pick(['the recycling goes out on tuesdays', 'to water the ferns every 4 days', 'that the car needs an oil change every 5000 miles', 'the library closes at 6 on sundays', 'to bring reusable bags', 'that {person} is allergic to peanuts', 'my shoe size is 10.5 US', 'the good parking is behind the church'])}`),
    () => fill(`fun fact: ${pick(['octopuses have three hearts', 'honey never spoils', 'bananas are berries', 'a group of crows is a murder', 'the eiffel tower grows in summer', 'venus spins backwards'])}`),
    () => fill(`planning to ${pick(['visit Lisbon', 'learn spanish', 'repaint the kitchen', 'get a bike', 'start running', 'read more', 'take a pottery class', 'build a treehouse'])} {future}`),
    () => fill(`${pick(['Best', 'The best', 'My go-to'])} ${pick(['pizza', 'ramen', 'coffee', 'bagels', 'tacos'])} in town is at ${pick(['Luigis', 'Ippudo', 'Blue Bottle', 'the corner deli', 'El Farolito'])}`),
    () => fill(`note to self: ${pick(['the wifi router is in the closet', 'buy more {food}', 'the spare key is with {person}', 'renew the library card {future}', 'the dog eats 2 cups a day', 'we need a new filter for the fridge'])}`),
    () => fill(`I think ${pick(['tabs are better than spaces', 'winter is the best season', 'pineapple on pizza is fine', 'we should get solar panels', 'dogs are better than cats'])}`),
    () => fill(`Our ${pick(['Secret Santa budget', 'book club pick', 'grocery budget', 'team name', 'wifi router model'])} is ${pick(['20 dollars', '$25', 'The Overstory', 'the Night Owls', 'a TP-Link AX50'])}`),
    () => fill(`${pick(['The secret ingredient in', 'The secret to', "Grandma's secret recipe for"])} ${pick(['chili', 'good pancakes', 'banana bread', 'crispy fries'])} is ${pick(['cocoa', 'buttermilk', 'a pinch of cinnamon', 'soaking them first', 'brown butter'])}`),
    () => fill(`${pick(['I forgot my password again', 'need to reset my netflix password at some point', 'tips for strong passwords: use long passphrases', 'should I use a password manager?', 'my password expired again lol', 'why do sites make you change passwords every 90 days', 'good password advice: never reuse them'])}`),
    () => fill(`want to learn more about {topic}`),
    () => fill(`${pick(['need to change my', 'should update my', 'forgot my', 'I keep forgetting my', 'have to reset my', 'remind me to rotate my'])} ${pick(SERVICES)} password${pick(['', ' again', ' at some point', ' this week', ' ugh'])}`),
    () => fill(`${pick(SERVICES)} ${pick(['wants a new password every 90 days', 'password rules are ridiculous', 'locks you out after 3 wrong passwords', 'finally supports passkeys', 'keeps asking me to reset my password'])}`),
    () => fill(`${pick(['I use a password manager for everything now', 'all my passwords are in bitwarden', 'the PIN pad at the grocery store is broken', 'never share your PIN with anyone', 'a good password is long, not complicated', 'the wifi at the cafe has no password', 'secret santa names get drawn on friday', 'the secret is to let the dough rest overnight'])}`),
    () => fill(`${pick(['Dentist', 'Haircut', 'Parent teacher meeting', 'Car service', 'Yoga class'])} ${pick(['is', 'scheduled'])} {future} at ${int(1, 11)}${pick(['am', 'pm', ''])}`),
    () => fill(`${pick(['the', 'our', 'my'])} ${pick(['dishwasher', 'car', 'boiler', 'printer', 'vacuum', 'lawn mower', 'fridge', 'router', 'bike', 'oven'])} ${pick(['takes', 'needs', 'uses', 'manual says to use', 'filter is'])} ${pick(['the blue pods', '5W-30 oil', 'a new filter every 6 months', 'HP 62 ink', 'AA batteries', 'size 700c tubes', 'descaling once a month', 'model XR-200 parts'])}`),
    () => fill(`${pick(['how to', 'tip:', 'life hack:', 'TIL'])} ${pick(['clean cast iron with salt', 'remove red wine stains with baking soda', 'keep basil fresh in water', 'unclog a drain with vinegar', 'fold a fitted sheet', 'peel garlic by shaking it in a jar', 'jump start a car: red to red, black to metal', 'boil eggs for 7 minutes for jammy yolks'])}`),
    () => fill(`${pick(['gift idea for', 'christmas list for', 'birthday idea for'])} {person}: ${pick(['a record player', 'fuzzy socks', 'the lego castle', 'a cookbook', 'concert tickets', 'a nice pen', 'that candle from the market'])}`),
    () => fill(`{person}'s ${pick(['teacher', 'coach', 'dentist', 'piano teacher', 'best friend', 'vet'])} is ${pick(['Mrs. Patel', 'Mr. Okafor', 'Dr. Lin', 'Coach Rivera', 'Ms. Baker'])}`),
    () => fill(`${pick(['the museum', 'the pool', 'the library', 'the farmers market', 'the dump', 'the pharmacy'])} ${pick(['is open', 'closes early', 'is free', 'is closed'])} ${pick(['on sundays', 'on holidays', 'on the first monday of the month', 'in august', 'after 5'])}`),
    () => fill(`I'm ${pick(['vegetarian', 'a night owl', 'left handed', 'allergic to cats', 'a size 9 shoe', 'trying to cut back on sugar', 'into birdwatching now', 'learning guitar'])}`),
    () => fill(`{person} ${pick(['likes', 'prefers', 'hates', 'collects'])} ${pick(['vinyl records', 'board games', 'window seats', 'early mornings', 'horror movies', 'succulents'])}`),
  ],
  CONFIDENTIAL: [
    () => fill(`${pick(['I was', 'got', 'my doctor says I was', 'Found out I was', '{person} was'])} diagnosed with ${pick(['type 2 diabetes', 'ADHD', 'depression', 'high blood pressure', 'sleep apnea', 'an anxiety disorder', 'celiac', 'hypothyroidism', 'PCOS', 'early stage breast cancer', 'IBS', 'bipolar II'])} {past}`),
    () => fill(`started ${pick(['taking', 'on'])} ${pick(['20mg lexapro', 'zoloft', 'metformin', 'adderall', 'birth control', 'wellbutrin', 'lisinopril', 'prozac', 'insulin', 'antibiotics for the uti'])} ${pick(['', 'today', 'last week', 'this month'])}${pick(['', ', feeling weird', ', hope it helps'])}`),
    () => fill(`${pick(['therapy', 'my therapy session', 'my session with Dr. Klein', 'couples counselling'])} ${pick(['was rough', 'went ok', 'brought up my childhood', 'is helping', 'made me cry'])} ${pick(['', 'today', 'this week'])}`),
    () => fill(`${pick(['we owe', 'I still owe', 'we have', 'I have'])} ${pick(['$42,000', '$8k', '£12,500', '$3,200', '$150k'])} ${pick(['in credit card debt', 'on the student loans', 'left on the mortgage', 'to my parents', 'in medical bills'])}`),
    () => fill(`my ${pick(['salary', 'new salary', 'base pay', 'bonus', 'take home pay'])} ${pick(['is', 'will be', 'went up to'])} ${pick(['$95k', '$120,000', '4,300 a month', '€62k', '$18/hr'])}`),
    () => fill(`${pick(['bank balance is', 'checking account is down to', 'savings are at', 'net worth hit'])} ${pick(['$312', '$14,020', '$1.2M', 'like 80 bucks', '$5,600'])}`),
    () => fill(`${pick(['I think', 'pretty sure', 'worried that', "can't believe"])} ${pick(['Dan is cheating on me', 'my marriage is falling apart', 'we are going to split up', 'my wife wants a divorce', '{person} is having an affair', 'I have feelings for my coworker'])}`),
    () => fill(`${pick(['my address is', 'we moved to', 'new address:', 'send it to', 'I live at'])} ${int(1, 999)} ${pick(['Elm', 'Oak', 'Maple', 'Cedar', 'Birch', 'Pine', 'Willow'])} ${pick(['St', 'Street', 'Ave', 'Road', 'Lane', 'Blvd', 'Drive'])}${pick(['', ', apt 4B', ', Springfield', ' unit 12'])}`),
    () => fill(`{person}'s ${pick(['cell', 'phone number', 'number', 'personal email'])} is ${pick([`+1 ${int(200, 999)} ${int(200, 999)} ${int(1000, 9999)}`, `${int(200, 999)}-${int(200, 999)}-${int(1000, 9999)}`, `${pick(['jen', 'tom.k', 'mrivera', 'sam88'])}@${pick(['gmail.com', 'yahoo.com', 'proton.me'])}`])}`),
    () => fill(`${pick(['HR is investigating', 'I might get fired because of', 'my boss gave me a bad review for', 'there are layoffs coming and', 'I filed a complaint about'])} ${pick(['my manager', 'the missed deadline', 'my team', 'the harassment', 'Tom'])}`),
    () => fill(`${pick(['the lawyer says', 'court date for', 'got served papers about', 'the DUI hearing', 'my custody case', 'the lawsuit against the landlord'])} ${pick(['is next month', 'the custody thing', 'the divorce', 'went badly', 'might settle', 'is on the 12th'])}`),
    () => fill(`honestly I ${pick(["can't stand", 'resent', "don't trust", 'am scared of', 'am so disappointed in'])} ${pick(['my mother in law', 'my boss', '{person}', 'my ex', 'my roommate'])}${pick(['', ' anymore', ', they keep lying', ' after what happened'])}`),
    () => fill(`${pick(['my dad', 'my mom', '{person}', 'my brother', 'my neighbour'])} ${pick(['has been drinking again', 'is in jail', 'was arrested', 'is getting evicted', 'has a gambling problem', 'is in rehab', 'is self harming', 'lost his job and hasn\'t told anyone', 'is being bullied at school'])}`),
    () => fill(`{past} ${pick(['the doctor told me my biopsy came back', 'I had a panic attack at', 'I relapsed after 8 months sober at', 'we found out about the miscarriage at', 'I told my therapist about', 'got my HIV test results at', 'I got laid off at'])} ${pick(['positive', '{place}', 'work', 'the clinic', 'home'])}`),
    () => fill(`${pick(['I am pregnant and', "I'm in recovery and", 'my credit score dropped to 540 and', 'I got a DUI and', 'I am gay and'])} ${pick(["haven't told anyone", 'only {person} knows', 'I am scared', "don't want my parents to know"])}`),
    () => fill(`${pick(['we are behind on rent', 'filed for bankruptcy', 'got a collections notice', 'took a payday loan', 'my paycheck bounced'])} ${pick(['', 'again', 'this month', '{past}'])}`),
  ],
  SECRET: [
    () => fill(`my ${pick(['debit card', 'credit card', 'bank card', 'ATM', 'phone', 'SIM', 'visa card'])} PIN is ${digits(pick([4, 4, 4, 6]))}`),
    () => fill(`${pick(['my', 'the', ''])} ${pick(SERVICES)} password ${pick(['is', 'is now', ':', '='])} ${password()}`),
    () => fill(`{past} I ${pick(['changed', 'reset', 'updated'])} my ${pick(SERVICES)} password to ${password()}`),
    () => fill(`${pick(['wifi password', 'wifi pw', 'guest wifi password', 'the wifi at the cabin is', 'WiFi key'])} ${pick(['is', ':', ''])} ${password()}`),
    () => fill(`${pick(['gate code', 'door code', 'garage code', 'alarm code', 'building entry code', 'locker combination', 'the safe combination', 'lockbox code', 'code for the front door'])} ${pick(['is', ':', 'at grandmas is', 'for the airbnb is'])} ${digits(pick([4, 4, 5, 6]))}${pick(['', '#', ''])}`),
    () => fill(`${pick(['card number', 'my visa', 'credit card', 'amex', 'the company card'])} ${pick(['is', ':', ''])} ${luhnCard(pick(['4', '51', '37', '6011']), 16)} exp ${int(1, 12)}/${int(26, 31)}${pick(['', ` cvv ${digits(3)}`])}`),
    () => fill(`${pick(['my iban', 'IBAN for rent', 'bank details for the landlord: IBAN', 'send money to IBAN'])} ${iban()}`),
    () => fill(`${pick(['my ssn is', 'social security number', 'SSN:', "{person}'s social is"])} ${int(100, 665)}-${int(10, 99)}-${int(1000, 9999)}`),
    () => fill(`${pick(['passport number', 'my passport no', "driver's license number", 'drivers license #', "{person}'s passport number is"])} ${pick(['X', 'P', 'D', 'K', ''])}${digits(8)}`),
    () => fill(`${pick(['bank account number', 'checking account number', 'account #', 'routing number'])} ${pick(['is', ':'])} ${digits(int(8, 12))}`),
    () => fill(`${pick(['openai key', 'api key for the side project', 'github token', 'slack bot token', 'aws key', 'the prod api token'])} ${pick(['is', ':', '->', ''])} ${apiKey()}`),
    () => fill(`${pick(['login for', 'credentials for'])} ${pick(SERVICES)}: ${pick(['alice', 'jdoe', 'sam.k@gmail.com', 'admin', 'mrivera'])} / ${password()}`),
    () => fill(`username ${pick(['bobby77', 'jen.r', 'the_real_sam'])} password ${password()}`),
    () => fill(`{past} {person} gave me ${pick(['the alarm code', 'the code to the storage unit', 'the combination to the bike lock', 'the garage code'])}: ${digits(4)}`),
    () => fill(`${pick(["mother's maiden name is", 'security answer for the bank:', 'my first pets name was'])} ${pick(['Kowalski', 'Rufus', 'Fernandez', 'Whiskers'])}`),
  ],
  ULTRASECRET: [
    () => fill(`${pick(['my seed phrase', 'wallet recovery phrase', 'metamask seed', 'ledger backup words', 'seed words for the cold wallet', ''])}${pick([': ', ' is ', ' '])}${mnemonic(pick([12, 12, 24, 18]))}`),
    () => fill(`${pick(['private key for my eth wallet', 'btc wallet private key', 'the wallet key', 'priv key'])} ${pick([':', 'is', '='])} ${pick(['0x', ''])}${hex64()}`),
    () => fill(`${pick(['my 1password master password is', 'bitwarden master password:', 'master password for the password manager is', 'LastPass master pass:', 'the keepass database password is'])} ${pick([password(), 'correct horse battery staple', 'purple otter drinks tea at noon', password()])}`),
    () => fill(`${pick(['github recovery codes', 'google backup codes', '2FA recovery codes for my email', 'backup codes for the authenticator', 'Apple ID recovery key'])}: ${recoveryCodes()}`),
    () => fill(`-----BEGIN ${pick(['RSA ', 'OPENSSH ', 'EC ', ''])}PRIVATE KEY-----\n${rnd(64, CHARS + '+/')}\n${rnd(40, CHARS + '+/')}\n-----END PRIVATE KEY-----`),
    () => fill(`${pick(['bitlocker recovery key', 'filevault recovery key', 'veracrypt passphrase for the backup drive', 'the disk encryption passphrase'])} ${pick(['is', ':'])} ${pick([Array.from({ length: 8 }, () => digits(6)).join('-'), password()])}`),
    () => fill(`${pick(['root password for all our prod servers is', 'the domain admin password for the company is', 'the master key for the company vault is', 'AWS root account password:'])} ${password()}`),
    () => fill(`${pick(['{past} I wrote down', 'writing down', 'do not lose:'])} ${pick(['the seed phrase for the cold wallet', 'the recovery phrase'])} ${mnemonic(12)}`),
  ],
};

// ---------------------------------------------------------------------------------------------------------
// Noise: how people type on phones

const EMOJI = ['😂', '🙏', '❤️', '😭', '🎉', '😅', '👍', '🔥', '😬', '🥲', '☀️', '🐶'];
const ABBREV: ReadonlyArray<readonly [RegExp, string]> = [
  [/\byou\b/g, 'u'],
  [/\bare\b/g, 'r'],
  [/\btonight\b/g, 'tonite'],
  [/\bbecause\b/g, 'bc'],
  [/\bwith\b/g, 'w/'],
  [/\bthe\b/g, 'teh'],
  [/\band\b/g, '&'],
  [/\bgoing to\b/g, 'gonna'],
  [/\bpassword\b/g, 'pw'],
];

function typo(text: string): string {
  const words = text.split(' ');
  const i = int(0, words.length - 1);
  const w = words[i]!;
  // Never damage the secret values: only plain lower-case words get a typo.
  if (w.length < 4 || !/^[a-z]+$/.test(w)) return text;
  const j = int(0, w.length - 2);
  words[i] = pick([
    () => w.slice(0, j) + w[j + 1] + w[j] + w.slice(j + 2),
    () => w.slice(0, j) + w.slice(j + 1),
    () => w.slice(0, j) + w[j] + w[j] + w.slice(j + 1),
  ])();
  return words.join(' ');
}

function noisy(text: string, label: Label): string {
  let out = text.replace(/\s+/g, ' ').replace(/ \./g, '.').trim();
  if (chance(0.2)) out = typo(out);
  if (chance(0.1)) for (const [re, to] of ABBREV) if (chance(0.5)) out = out.replace(re, to);
  if (chance(0.4)) out = out.replace(/[A-Z]/g, (c, i: number) => (label === 'SECRET' || label === 'ULTRASECRET' ? (i < 2 ? c.toLowerCase() : c) : c.toLowerCase()));
  else if (chance(0.5)) out = out.charAt(0).toUpperCase() + out.slice(1);
  if (chance(0.12)) out += ` ${pick(EMOJI)}`;
  if (chance(0.08)) out = `${pick(['fyi ', 'note: ', 'remember this: ', 'ok so ', 'hey ', 'pls save: '])}${out}`;
  if (chance(0.3) && /[.!]$/.test(out) === false) out += pick(['.', '!', '', '']);
  return out;
}

// ---------------------------------------------------------------------------------------------------------

const PER_LABEL: Record<Label, number> = {
  CHRONOLOGICAL: 560,
  GENERAL: 560,
  CONFIDENTIAL: 560,
  SECRET: 460,
  ULTRASECRET: 260,
};

interface Row {
  id: string;
  text: string;
  label: Label;
  source: 'handwritten' | 'template';
}

const rows: Row[] = [];
const seen = new Set<string>();
const add = (text: string, label: Label, source: Row['source']) => {
  const key = text.toLowerCase();
  if (seen.has(key)) return false;
  seen.add(key);
  rows.push({ id: '', text, label, source });
  return true;
};

const LABELS = Object.keys(PER_LABEL) as Label[];
for (const line of readFileSync(join(HERE, 'handwritten.tsv'), 'utf8').split('\n')) {
  if (!line.trim() || line.startsWith('#')) continue;
  const tab = line.indexOf('\t');
  const label = line.slice(0, tab) as Label;
  if (!LABELS.includes(label)) throw new Error(`handwritten.tsv: bad label in line: ${line.slice(0, 40)}`);
  add(line.slice(tab + 1).replaceAll('\\n', '\n'), label, 'handwritten');
}
for (const label of LABELS) {
  let made = rows.filter((r) => r.label === label).length;
  let attempts = 0;
  while (made < PER_LABEL[label] && attempts++ < 50_000) {
    if (add(noisy(pick(T[label])(), label), label, 'template')) made++;
  }
}
rows.forEach((r, i) => {
  r.id = `m${String(i + 1).padStart(5, '0')}`;
});

// Stratified 20% held-out split, fixed once: a seeded shuffle per label.
const test: string[] = [];
for (const label of LABELS) {
  const ids = rows.filter((r) => r.label === label).map((r) => r.id);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  test.push(...ids.slice(0, Math.round(ids.length * 0.2)));
}
test.sort();

writeFileSync(join(HERE, 'messages.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
writeFileSync(join(HERE, 'split.json'), JSON.stringify({ heldOut: test }, null, 0) + '\n');
const counts = Object.fromEntries(LABELS.map((l) => [l, rows.filter((r) => r.label === l).length]));
console.log(`${rows.length} messages`, counts, `held out: ${test.length}`);
