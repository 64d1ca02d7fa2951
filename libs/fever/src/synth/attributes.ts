/**
 * Attribute templates of the synthetic worlds. Each attribute renders a page sentence (FEVER-style, with a
 * space before the final period), a claim (natural text) and parses its sentence back, so tests can check
 * claims against the page text and not only against the generator's structured facts.
 */

export type EntityKind = 'person' | 'place' | 'organisation';

export interface AttributeSpec {
  name: string;
  /** "{subject} was born in {value}" without the final period. */
  phrase: (subject: string, value: string) => string;
  /** Parses a sentence produced by `phrase` for this subject; undefined if it is about something else. */
  parse: (subject: string, sentence: string) => string | undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function spec(name: string, before: string, after = ''): AttributeSpec {
  return {
    name,
    phrase: (subject, value) => `${subject} ${before} ${value}${after}`,
    parse: (subject, sentence) => {
      const m = new RegExp(`^${escapeRegExp(subject)} ${escapeRegExp(before)} (.+?)${escapeRegExp(after)}\\s*\\.?$`).exec(sentence.trim());
      return m ? m[1] : undefined;
    },
  };
}

export const ATTRIBUTES: Readonly<Record<EntityKind, readonly AttributeSpec[]>> = {
  person: [
    spec('birthYear', 'was born in the year'),
    spec('country', 'is a citizen of'),
    spec('occupation', 'works in the profession of'),
    spec('employer', 'is employed by'),
  ],
  place: [
    spec('country', 'is a town in the country of'),
    spec('foundedYear', 'was first settled in the year'),
    spec('river', 'lies on the river'),
    spec('population', 'has a population of', ' people'),
  ],
  organisation: [
    spec('founder', 'was founded by'),
    spec('foundedYear', 'was established in the year'),
    spec('headquarters', 'is headquartered in'),
    spec('industry', 'operates in the industry of'),
  ],
};

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
