/**
 * Attribute templates of the synthetic worlds. Each attribute renders a page sentence (FEVER-style, with a
 * space before the final period), a claim (natural text) and parses its sentence back, so tests can check
 * claims against the page text and not only against the generator's structured facts.
 */

export type EntityKind = 'person' | 'place' | 'organisation';

export interface AttributeSpec {
  name: string;
  /** "{subject} was born in {value}" without the final period: the canonical template (templates[0]). */
  phrase: (subject: string, value: string) => string;
  /** Parses a sentence produced by `phrase` for this subject; undefined if it is about something else. */
  parse: (subject: string, sentence: string) => string | undefined;
  /**
   * Paraphrases of the same fact, "{s}" the subject and "{v}" the value; templates[0] is `phrase`. No two
   * templates of a kind match the same sentence, so a paraphrased page parses back to exactly its facts.
   */
  templates: readonly string[];
  /** Renders template `t` (taken modulo the number of templates). */
  render: (subject: string, value: string, t: number) => string;
  /** Parses a sentence produced by any of `templates`; undefined if it is about something else. */
  parseAny: (subject: string, sentence: string) => string | undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function fill(template: string, subject: string, value: string): string {
  return template.replace('{s}', subject).replace('{v}', value);
}

function matcher(template: string, subject: string): RegExp {
  const [before, after] = template.split('{v}') as [string, string];
  const part = (text: string) => escapeRegExp(text).replace(escapeRegExp('{s}'), escapeRegExp(subject));
  return new RegExp(`^${part(before)}(.+?)${part(after)}\\s*\\.?$`);
}

function spec(name: string, ...templates: string[]): AttributeSpec {
  const parseWith = (template: string, subject: string, sentence: string) => matcher(template, subject).exec(sentence.trim())?.[1];
  return {
    name,
    templates,
    phrase: (subject, value) => fill(templates[0]!, subject, value),
    parse: (subject, sentence) => parseWith(templates[0]!, subject, sentence),
    render: (subject, value, t) => fill(templates[t % templates.length]!, subject, value),
    parseAny: (subject, sentence) => {
      for (const t of templates) {
        const value = parseWith(t, subject, sentence);
        if (value !== undefined) return value;
      }
      return undefined;
    },
  };
}

export const ATTRIBUTES: Readonly<Record<EntityKind, readonly AttributeSpec[]>> = {
  person: [
    spec(
      'birthYear',
      '{s} was born in the year {v}',
      'The birth year of {s} is {v}',
      'In the year {v} , {s} was born',
      '{s} came into the world in {v}',
    ),
    spec(
      'country',
      '{s} is a citizen of {v}',
      '{s} holds the citizenship of {v}',
      'The country of citizenship of {s} is {v}',
      '{s} is a national of {v}',
    ),
    spec(
      'occupation',
      '{s} works in the profession of {v}',
      'The profession of {s} is {v}',
      'By trade , {s} is a {v}',
      '{s} earns a living as a {v}',
    ),
    spec('employer', '{s} is employed by {v}', '{s} works for {v}', 'The employer of {s} is {v}', '{v} employs {s}'),
  ],
  place: [
    spec(
      'country',
      '{s} is a town in the country of {v}',
      '{s} lies in the country of {v}',
      'The town of {s} is in {v}',
      '{v} is the country of the town {s}',
    ),
    spec(
      'foundedYear',
      '{s} was first settled in the year {v}',
      'Settlers first came to {s} in {v}',
      'The first settlement at {s} dates from {v}',
      'In the year {v} , people first settled in {s}',
    ),
    spec(
      'river',
      '{s} lies on the river {v}',
      'The river {v} flows through {s}',
      '{s} is built on the banks of the river {v}',
      '{s} stands by the river {v}',
    ),
    spec(
      'population',
      '{s} has a population of {v} people',
      '{v} people live in {s}',
      'The population of {s} is {v} people',
      '{s} is home to {v} people',
    ),
  ],
  organisation: [
    spec('founder', '{s} was founded by {v}', '{v} founded {s}', 'The founder of {s} is {v}', '{s} was started by {v}'),
    spec(
      'foundedYear',
      '{s} was established in the year {v}',
      '{s} was set up in the year {v}',
      'The founding year of {s} is {v}',
      'In the year {v} , {s} was established',
    ),
    spec(
      'headquarters',
      '{s} is headquartered in {v}',
      'The headquarters of {s} are in {v}',
      '{s} has its head office in {v}',
      '{s} is based in {v}',
    ),
    spec(
      'industry',
      '{s} operates in the industry of {v}',
      '{s} is active in the trade of {v}',
      'The industry of {s} is {v}',
      '{s} does business in {v}',
    ),
  ],
};

/** The first sentence of a page ("{s} is a person"), canonical template first, "{k}" the kind's noun phrase. */
export const INTRO_TEMPLATES: readonly string[] = ['{s} is {k}', '{s} is the name of {k}', 'There is {k} called {s}', 'We know of {k} named {s}'];

export function introSentence(subject: string, kind: EntityKind, t: number): string {
  return INTRO_TEMPLATES[t % INTRO_TEMPLATES.length]!.replace('{s}', subject).replace('{k}', KIND_NOUN[kind]);
}

export const KIND_NOUN: Readonly<Record<EntityKind, string>> = {
  person: 'a person',
  place: 'a town',
  organisation: 'an organisation',
};

export const OCCUPATIONS = [
  'painter',
  'chemist',
  'sailor',
  'poet',
  'architect',
  'astronomer',
  'merchant',
  'composer',
  'surgeon',
  'weaver',
  'cartographer',
  'judge',
];
export const INDUSTRIES = [
  'shipbuilding',
  'textiles',
  'mining',
  'printing',
  'brewing',
  'glassmaking',
  'banking',
  'pottery',
  'clockmaking',
  'farming',
];
