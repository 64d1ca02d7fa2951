/**
 * Encoding throughput of the two stories260K tokenizers on the FEVER wiki pages ("text" field).
 * Run: node --import tsx bench/tokenizers.ts [rounds]
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadTokenizer, type Tokenizer } from '@memorize/lm';

const shared = fileURLToPath(new URL('../../shared/', import.meta.url));
const rounds = Number(process.argv[2] ?? 3);

const pages = (await readFile(`${shared}data/fever/wiki-pages.jsonl`, 'utf8'))
  .split('\n')
  .filter((line) => line.trim())
  .map((line) => (JSON.parse(line) as { text: string }).text);
const chars = pages.reduce((n, t) => n + t.length, 0);
console.log(`FEVER wiki pages: ${pages.length} documents, ${chars} characters, ${rounds} timed rounds after 1 warm-up`);

const tokenizers: [string, Tokenizer][] = [
  ['llama2.c tok512.bin', await loadTokenizer(`${shared}models/stories260K/tok512.bin`)],
  ['HF tokenizer.json', await loadTokenizer(`${shared}models/stories260K/hf`)],
];
for (const [name, tok] of tokenizers) {
  let tokens = 0;
  for (const text of pages) tokens += tok.encode(text).length; // warm-up (JIT, pair caches)
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const text of pages) tok.encode(text);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9 / rounds;
  console.log(
    `${name.padEnd(20)} ${tokens} tokens/pass  ${(tokens / seconds).toFixed(0).padStart(9)} tokens/s  ` +
      `${(chars / seconds / 1e6).toFixed(2)} MB/s  ${(seconds * 1000).toFixed(0)} ms/pass`,
  );
}
