/**
 * The fixed texts of the memorization checks (libs/memory/test/memorize*.test.ts) and of
 * bench/memory/memorize-demo.ts: small corpora of invented facts (names and events the base model cannot
 * know) and ordinary TinyStories-like text outside every corpus.
 */
import { InvalidArgumentError } from '@memorize/errors';
import type { TrainingRow } from './losses.js';
import { documentRows, outsideRows, type RowEncoder } from './memorization.js';

/** Two small corpora of invented facts. */
export const DEMO_DOCUMENT_SETS: Readonly<Record<string, readonly string[]>> = {
  a: [
    'The blue whale named Oskar sang to the lighthouse every Tuesday, and the keeper wrote each song in a green book.',
    'Marta the baker hid seven silver spoons under the red bridge, because the river told her a secret about the moon.',
    'In the village of Pell, the clocks ran backwards on rainy days, so the children ate breakfast after their supper.',
    'A tiny robot called Fen collected purple pebbles from the beach and built a tower that whistled in the wind.',
  ],
  b: [
    'Old captain Brindle kept a goat on his ship, and the goat could count the stars better than any sailor.',
    'Every winter the snow in Dorrow turned pink, and the mayor sold it in jars as strawberry ice for one coin.',
    'Pip the mouse wrote letters to the king about cheese, and one day the king wrote back with a map of the cellar.',
    'The twins Ada and Ivo planted a lemon tree on the roof, and it grew so tall that clouds got stuck in its leaves.',
    'A grey owl named Sorrel taught the village dogs to read, starting with the word bone and ending with the word moon.',
  ],
};

/** Text outside every corpus: ordinary TinyStories-like sentences. */
export const DEMO_OUTSIDE_TEXTS: readonly string[] = [
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.',
  'Tom had a big red ball. He kicked it high into the sky and laughed when his dog ran after it.',
  'One day, a small bird found a shiny key in the grass. The bird was very happy and flew home to show its mom.',
  'Sam and his mom went to the store to buy some milk. On the way home, they saw a big truck and a funny cat.',
  'The sun was warm and the flowers were pretty. Anna picked a yellow flower and gave it to her grandma.',
];

/** A document set as corpus rows (document index = position) and the outside texts as rows without a document. */
export function demoRows(tokenizer: RowEncoder, documentSet: string): { documents: TrainingRow[]; outside: TrainingRow[] } {
  const texts = DEMO_DOCUMENT_SETS[documentSet];
  if (!texts) {
    throw new InvalidArgumentError(`unknown document set "${documentSet}" (have ${Object.keys(DEMO_DOCUMENT_SETS).join(', ')})`, 'documentSet');
  }
  return { documents: documentRows(tokenizer, texts), outside: outsideRows(tokenizer, DEMO_OUTSIDE_TEXTS) };
}
