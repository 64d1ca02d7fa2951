/**
 * Fictional names built from syllables, so a pretrained model cannot already know the entities.
 * Everything is drawn from a seeded PRNG: the same seed gives the same names.
 */
import { randomIndex } from '../prng.js';

const ONSETS = ['b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'th', 'sh', 'dr', 'kr', 'tr', 'br', 'vel', 'qu'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ei', 'ou', 'ae', 'y'];
const CODAS = ['', '', '', 'n', 'r', 'l', 's', 'th', 'k', 'x', 'm'];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[randomIndex(random, items.length)]!;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** One capitalised word of `syllables` syllables, e.g. "Zorvaith". */
export function fictionalWord(random: () => number, syllables: number): string {
  let word = '';
  for (let i = 0; i < syllables; i++) word += pick(random, ONSETS) + pick(random, VOWELS) + pick(random, CODAS);
  return capitalize(word);
}

/** Draws names until one is new; `taken` is shared so names are unique across the whole world. */
export function uniqueName(random: () => number, taken: Set<string>, make: (random: () => number) => string): string {
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const name = make(random);
    const key = name.toLowerCase();
    if (!taken.has(key)) {
      taken.add(key);
      return name;
    }
  }
  throw new Error('name space exhausted');
}

export const personName = (random: () => number): string => `${fictionalWord(random, 2)} ${fictionalWord(random, 1 + randomIndex(random, 2) + 1)}`;
export const placeName = (random: () => number): string => fictionalWord(random, 2 + randomIndex(random, 2));
export const organisationName = (random: () => number): string =>
  `${fictionalWord(random, 2)} ${pick(random, ['Guild', 'Company', 'Institute', 'Society', 'Works', 'Foundation'])}`;
