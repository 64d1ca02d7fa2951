/**
 * FEVER prompts as the evaluator gets them, for tests and benches: the libs/fever pipeline over the shared slice
 * (the top N pages, the page-assignment sidecar for NOT ENOUGH INFO claims, pools of 5 per page, lenient parsing,
 * as `memorize eval` loads it), the evaluation claims in corpus order (page rank, then the page's claims), each with
 * its k-shot examples from its own page's pool (claimPrompt, as DataService's StreamEvaluationItems builds items),
 * tokenized BOS first; and the loglik options " (a)", " (b)", " (c)" as libs/eval makes them: prompt + option
 * tokenized, minus the prompt's tokens (the option tokenized on its own when the tokenizer merges across them).
 */
import { buildCorpus, claimPrompt, type Corpus, type Label, type TextTokenizer } from '@memorize/fever';
import { feverFiles } from './paths.js';

/** The loglik answer options, in label order (libs/eval OPTION_TEXTS). */
export const FEVER_OPTION_TEXTS = [' (a)', ' (b)', ' (c)'] as const;

export interface FeverPrompt {
  claimId: number;
  label: Label;
  /** The claim's page rank: the document index its evaluation item carries. */
  documentIndex: number;
  exampleIds: number[];
  prompt: string;
  /** The prompt's tokens, BOS first. */
  context: number[];
  /** The three options' continuation tokens. */
  options: number[][];
}

export interface FeverPromptOptions {
  /** Claims wanted (default: every evaluation claim of the corpus). */
  claims?: number;
  /** Skip this many claims of corpus order first (default 0). */
  offset?: number;
  /** Pages kept (default 5, as configs/eval.example.yaml). */
  topN?: number;
  /** Examples per prompt (default 1). */
  shots?: number;
  /** The corpus seed (pool split, example order; default 0). */
  seed?: number;
}

const corpora = new Map<string, Promise<Corpus>>();

/** The corpus of the shared FEVER slice's top `topN` pages, built once per process. */
export function feverCorpus(topN = 5, seed = 0): Promise<Corpus> {
  const key = `${topN} ${seed}`;
  let corpus = corpora.get(key);
  if (!corpus) {
    corpus = buildCorpus(
      { claims: feverFiles.claims, pages: feverFiles.pages, assignments: feverFiles.assignments },
      { topN, seed, mode: 'lenient' },
    );
    corpora.set(key, corpus);
  }
  return corpus;
}

/** The first `claims` evaluation prompts of the corpus (see the module comment), tokenized with `tokenizer`. */
export async function feverPrompts(tokenizer: TextTokenizer, options: FeverPromptOptions = {}): Promise<FeverPrompt[]> {
  const { offset = 0, shots = 1, seed = 0 } = options;
  const corpus = await feverCorpus(options.topN, seed);
  const all = corpus.pages.flatMap((page) => page.eval.map((claim) => ({ page, claim })));
  const n = options.claims ?? all.length - offset;
  if (offset + n > all.length) throw new Error(`${offset + n} FEVER claims wanted, the corpus of ${corpus.pages.length} pages has ${all.length}`);
  const bare = FEVER_OPTION_TEXTS.map((o) => tokenizer.encode(o, { bos: false }));
  return all.slice(offset, offset + n).map(({ page, claim }) => {
    const item = claimPrompt(page, claim, shots, { seed });
    const context = tokenizer.encode(item.prompt, { bos: true });
    const options = FEVER_OPTION_TEXTS.map((o, k) => {
      const ids = tokenizer.encode(item.prompt + o, { bos: true });
      const isPrefix = ids.length > context.length && context.every((t, i) => ids[i] === t);
      return isPrefix ? ids.slice(context.length) : [...bare[k]];
    });
    return { claimId: claim.id, label: claim.label, documentIndex: page.rank, exampleIds: item.exampleIds, prompt: item.prompt, context, options };
  });
}

/** Three (context, continuation) requests per prompt, in prompt order (libs/lm ScoreRequest's shape), with the page. */
export const feverRequests = (prompts: readonly FeverPrompt[]): Array<{ context: number[]; continuation: number[]; documentIndex: number }> =>
  prompts.flatMap((p) => p.options.map((continuation) => ({ context: p.context, continuation, documentIndex: p.documentIndex })));
