// The hostile-input table of issue #9: every case is one request (or one command line) a hostile but honest
// client could send, with the gRPC status code it must answer and the field its error must name. The runner
// (hostile.test.ts) builds a fixture (temp roots holding a FIFO, symlinks out of the root, garbage and secret
// files, absurd model configurations), sends each case over the wire and checks the answer, the service's health
// and a known-good request after it. Expected codes follow the issue and the README's mapping, not what the
// services answer today.
import { status } from '@grpc/grpc-js';
import { common, evaluator } from '@memorize/contracts';

export type ServiceKey = 'data' | 'modelHost' | 'trainer' | 'evaluator';

/** What the runner prepares before the cases: roots, planted files and ids of things loaded in the services. */
export interface Fixture {
  base: string;
  modelRoot: string;
  memoryRoot: string;
  dataRoot: string;
  /** A folder outside every root (holds secret.txt and victim.txt). */
  outside: string;
  /** The unique string every secret file holds; no answer may ever contain it. */
  marker: string;
  /** A tokenized corpus (top 5 pages) and an untokenized one on DataService. */
  corpusId: string;
  plainCorpusId: string;
  /** Documents of corpusId. */
  documents: number;
  /** The stories260K model on ModelHost, its memory and the memory file saved in the memory root. */
  modelId: string;
  memoryId: string;
  vocab: number;
  maxLength: number;
}

type Message = Record<string, unknown>;

/** A gRPC case: `request` is the message (partial, ts-proto field names); `wire` appends raw protobuf bytes. */
export interface RpcCase {
  kind: 'rpc';
  name: string;
  service: ServiceKey;
  /** Method name as in the generated service definition (loadCorpus, trainStep, ...). */
  method: string;
  request: (f: Fixture) => Message;
  /** Extra encoded top-level fields appended to the message (last value wins): 64-bit values at the wire. */
  wire?: Uint8Array;
  /** Expected code; status.OK when the request is valid and must be answered. */
  code: status;
  /** Field paths the `memorize-field` trailer may carry (and the message must name); none for status.OK. */
  field?: string[];
  /** Words the message must also contain (e.g. the config field behind a LoadModel error). */
  mentions?: string[];
}

/** A command-line case: exit code 2, stdout empty, stderr naming every string of `names`. */
export interface CliCase {
  kind: 'cli';
  name: string;
  args: (f: Fixture) => string[];
  names: string[];
}

export type HostileCase = RpcCase | CliCase;

// ---- Raw protobuf for values the generated types (number) cannot hold ----

function varint(value: bigint): number[] {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/**
 * A top-level varint field, appended after the encoded message (the last value of a scalar field wins). Only for
 * top-level fields: ts-proto replaces, rather than merges, a repeated embedded message, so nested 64-bit values are
 * set as bigint in the message itself (the generated writers take bigint whatever forceLong is).
 */
export function wireVarint(field: number, value: bigint): Uint8Array {
  return Buffer.from([...varint(BigInt(field << 3)), ...varint(value)]);
}

const P53 = 2n ** 53n;
const U64_MAX = 2n ** 64n - 1n;
const IA = status.INVALID_ARGUMENT;
const NF = status.NOT_FOUND;
const PD = status.PERMISSION_DENIED;
const AE = status.ALREADY_EXISTS;
const FP = status.FAILED_PRECONDITION;
const RE = status.RESOURCE_EXHAUSTED;
const OK = status.OK;

const long = (n: number, c = 'n'): string => c.repeat(n);
const ids = (n: number, id = 5): number[] => new Array<number>(n).fill(id);
const mib = (n: number): string => 'Once upon a time. '.repeat(Math.ceil((n * 2 ** 20) / 18)).slice(0, n * 2 ** 20);

const cases: HostileCase[] = [];
const rpc = (
  service: ServiceKey,
  method: string,
  name: string,
  request: (f: Fixture) => Message,
  code: status,
  field?: string | string[],
  extra: { wire?: Uint8Array; mentions?: string[] } = {},
): void => {
  cases.push({ kind: 'rpc', service, method, name, request, code, field: field === undefined ? undefined : [field].flat(), ...extra });
};

// ---- DataService ----

const corpus =
  (over: Message = {}) =>
  (): Message => ({
    claimsPath: 'claims.jsonl',
    pagesPath: 'pages.jsonl',
    assignmentPath: 'assignment.jsonl',
    topN: 5,
    tokenizerPath: 'tok512.bin',
    ...over,
  });
const D = (method: string, name: string, request: (f: Fixture) => Message, code: status, field?: string | string[], extra = {}) =>
  rpc('data', method, name, request, code, field, extra);

D('loadCorpus', 'claims_path ../outside/secret.txt', corpus({ claimsPath: '../outside/secret.txt' }), PD, 'claims_path');
D('loadCorpus', 'claims_path absolute outside the root', (f) => corpus({ claimsPath: `${f.outside}/secret.txt` })(), PD, 'claims_path');
D('loadCorpus', 'claims_path /etc/passwd', corpus({ claimsPath: '/etc/passwd' }), PD, 'claims_path');
D('loadCorpus', 'claims_path /proc/self/environ', corpus({ claimsPath: '/proc/self/environ' }), PD, 'claims_path');
D('loadCorpus', 'claims_path symlink out of the root', corpus({ claimsPath: 'link-out' }), PD, 'claims_path');
D('loadCorpus', 'pages_path through a symlinked folder out of the root', corpus({ pagesPath: 'link-dir-out/secret.txt' }), PD, 'pages_path');
D('loadCorpus', 'assignment_path /etc/shadow', corpus({ assignmentPath: '/etc/shadow' }), PD, 'assignment_path');
D('loadCorpus', 'tokenizer_path ../../../../etc/passwd', corpus({ tokenizerPath: '../../../../etc/passwd' }), PD, 'tokenizer_path');
D('loadCorpus', 'claims_path /dev/zero', corpus({ claimsPath: '/dev/zero' }), PD, 'claims_path');
D('loadCorpus', 'claims_path FIFO', corpus({ claimsPath: 'fifo.jsonl' }), IA, 'claims_path');
D('loadCorpus', 'pages_path FIFO', corpus({ pagesPath: 'fifo.jsonl' }), IA, 'pages_path');
D('loadCorpus', 'tokenizer_path FIFO', corpus({ tokenizerPath: 'fifo.jsonl' }), IA, 'tokenizer_path');
D('loadCorpus', 'claims_path a folder', corpus({ claimsPath: 'folder' }), IA, 'claims_path');
D('loadCorpus', 'claims_path with a NUL byte', corpus({ claimsPath: 'claims\u0000.jsonl' }), IA, 'claims_path');
D('loadCorpus', 'claims_path of 5000 characters', corpus({ claimsPath: long(5000) }), IA, 'claims_path');
D('loadCorpus', 'claims_path nonexistent', corpus({ claimsPath: 'missing.jsonl' }), NF, 'claims_path');
D('loadCorpus', 'claims_path empty', corpus({ claimsPath: '' }), IA, 'claims_path');
D('loadCorpus', 'claims_path secret garbage (strict)', corpus({ claimsPath: 'secret.jsonl', strict: true }), IA, 'claims_path');
D('loadCorpus', 'pages_path secret garbage (strict)', corpus({ pagesPath: 'secret.jsonl', strict: true }), IA, 'pages_path');
D('loadCorpus', 'assignment_path secret garbage (strict)', corpus({ assignmentPath: 'secret.jsonl', strict: true }), IA, 'assignment_path');
D('loadCorpus', 'tokenizer_path secret garbage', corpus({ tokenizerPath: 'secret.jsonl' }), IA, 'tokenizer_path');
D('loadCorpus', 'pool_per_page 1e6 (empty evaluation set)', corpus({ poolPerPage: 1e6 }), IA, 'pool_per_page');
D('loadCorpus', 'pool_per_page -1', corpus({ poolPerPage: -1 }), IA, 'pool_per_page');
D('loadCorpus', 'max_length 1e9', corpus({ maxLength: 1e9 }), IA, 'max_length');
D('loadCorpus', 'max_length -5', corpus({ maxLength: -5 }), IA, 'max_length');
D('loadCorpus', 'max_length 1', corpus({ maxLength: 1 }), IA, 'max_length');
D('loadCorpus', 'top_n -1', corpus({ topN: -1 }), IA, 'top_n');
D('loadCorpus', 'top_n 2^31-1 (more pages than available)', corpus({ topN: 2 ** 31 - 1 }), IA, 'top_n');
D('loadCorpus', 'top_n 100000 (more pages than available)', corpus({ topN: 100_000 }), IA, 'top_n');
D('loadCorpus', 'seed 2^53 (taken modulo 2^32)', corpus(), OK, undefined, { wire: wireVarint(5, P53) });
D('loadCorpus', 'seed 2^64-1 (taken modulo 2^32)', corpus(), OK, undefined, { wire: wireVarint(5, U64_MAX) });

D('getCorpus', 'unknown corpus_id', () => ({ corpusId: 'no-such-corpus' }), NF, 'corpus_id');
D('getCorpus', 'empty corpus_id', () => ({ corpusId: '' }), IA, 'corpus_id');
D('getCorpus', 'corpus_id of 5000 characters', () => ({ corpusId: long(5000) }), IA, 'corpus_id');
D('getCorpus', 'corpus_id ../etc', () => ({ corpusId: '../etc' }), IA, 'corpus_id');

const docs = (over: Message) => (f: Fixture) => ({ corpusId: f.corpusId, pageSize: 2, ...over });
D('listDocuments', 'page_token "abc"', docs({ pageToken: 'abc' }), IA, 'page_token');
D('listDocuments', 'page_token "99999999999999999999"', docs({ pageToken: '99999999999999999999' }), IA, 'page_token');
D('listDocuments', 'page_token "-1"', docs({ pageToken: '-1' }), IA, 'page_token');
D('listDocuments', 'page_token "1e3"', docs({ pageToken: '1e3' }), IA, 'page_token');
D('listDocuments', 'page_token past the last document', (f) => docs({ pageToken: String(f.documents) })(f), IA, 'page_token');
D('listDocuments', 'page_size -1', docs({ pageSize: -1 }), IA, 'page_size');
D('listDocuments', 'page_size 1e6', docs({ pageSize: 1e6 }), IA, 'page_size');
D('listDocuments', 'unknown corpus_id', () => ({ corpusId: 'no-such-corpus' }), NF, 'corpus_id');

D('getDocument', 'index 99999', (f) => ({ corpusId: f.corpusId, index: 99_999 }), NF, 'index');
D('getDocument', 'index -1', (f) => ({ corpusId: f.corpusId, index: -1 }), IA, 'index');
D('getDocument', 'unknown page_id', (f) => ({ corpusId: f.corpusId, pageId: 'No_such_page_at_all' }), NF, 'page_id');
D('getDocument', 'page_id of 5000 characters', (f) => ({ corpusId: f.corpusId, pageId: long(5000) }), IA, 'page_id');

D('streamClaims', 'split 99', (f) => ({ corpusId: f.corpusId, split: 99 }), IA, 'split');
D('streamClaims', 'split -1', (f) => ({ corpusId: f.corpusId, split: -1 }), IA, 'split');
D('streamClaims', 'unknown corpus_id', () => ({ corpusId: 'no-such-corpus' }), NF, 'corpus_id');

const items = (over: Message) => (f: Fixture) => ({ corpusId: f.corpusId, limit: 2, ...over });
D('streamEvaluationItems', 'shots 99', items({ shots: 99 }), IA, 'shots');
D('streamEvaluationItems', 'shots -1', items({ shots: -1 }), IA, 'shots');
D('streamEvaluationItems', 'split 99', items({ split: 99 }), IA, 'split');
D('streamEvaluationItems', 'limit -1', items({ limit: -1 }), IA, 'limit');
D('streamEvaluationItems', 'tokenize on an untokenized corpus', (f) => ({ corpusId: f.plainCorpusId, limit: 2, tokenize: true }), FP, [
  'tokenize',
  'corpus_id',
]);

D('getPrompt', 'claim_id 2^53 (not in the corpus)', (f) => ({ corpusId: f.corpusId }), NF, 'claim_id', { wire: wireVarint(2, P53) });
D('getPrompt', 'claim_id 2^64-1 (int64 -1)', (f) => ({ corpusId: f.corpusId }), IA, 'claim_id', { wire: wireVarint(2, U64_MAX) });
D('getPrompt', 'claim_id 99999999999 (not in the corpus)', (f) => ({ corpusId: f.corpusId, claimId: 99_999_999_999 }), NF, 'claim_id');
D('getPrompt', 'shots 99', (f) => ({ corpusId: f.corpusId, claimId: 1, shots: 99 }), IA, 'shots');
D('getPrompt', 'shots -1', (f) => ({ corpusId: f.corpusId, claimId: 1, shots: -1 }), IA, 'shots');
D('getPrompt', 'unknown corpus_id', () => ({ corpusId: 'no-such-corpus', claimId: 1 }), NF, 'corpus_id');

const batches = (over: Message) => (f: Fixture) => ({ corpusId: f.corpusId, batchSize: 2, ...over });
D('streamTrainingBatches', 'batch_size -1', batches({ batchSize: -1 }), IA, 'batch_size');
D('streamTrainingBatches', 'batch_size 1e6', batches({ batchSize: 1e6 }), IA, 'batch_size');
D('streamTrainingBatches', 'epochs -1', batches({ epochs: -1 }), IA, 'epochs');
D('streamTrainingBatches', 'epochs 1e9', batches({ epochs: 1e9 }), IA, 'epochs');
D('streamTrainingBatches', 'start_step -1', batches({ startStep: -1 }), IA, 'start_step');
D('streamTrainingBatches', 'seed 2^53 (taken modulo 2^32)', batches({}), OK, undefined, { wire: wireVarint(4, P53) });
D('streamTrainingBatches', 'seed 2^64-1 (taken modulo 2^32)', batches({}), OK, undefined, { wire: wireVarint(4, U64_MAX) });
D('streamTrainingBatches', 'untokenized corpus', (f) => ({ corpusId: f.plainCorpusId }), FP, 'corpus_id');

D('getShingleSets', 'k 99', (f) => ({ corpusId: f.corpusId, k: 99 }), IA, 'k');
D('getShingleSets', 'k -1', (f) => ({ corpusId: f.corpusId, k: -1 }), IA, 'k');
D('getShingleSets', 'document_indices [-1]', (f) => ({ corpusId: f.corpusId, documentIndices: [-1] }), IA, 'document_indices');
D(
  'getShingleSets',
  'document_indices [99999] (unknown document)',
  (f) => ({ corpusId: f.corpusId, documentIndices: [99_999] }),
  NF,
  'document_indices',
);
D(
  'getShingleSets',
  'document_indices of 100000 entries',
  (f) => ({ corpusId: f.corpusId, documentIndices: ids(100_000, 0) }),
  IA,
  'document_indices',
);
D('getShingleSets', 'untokenized corpus', (f) => ({ corpusId: f.plainCorpusId }), FP, 'corpus_id');

// ---- ModelHost ----

const M = (method: string, name: string, request: (f: Fixture) => Message, code: status, field?: string | string[], extra = {}) =>
  rpc('modelHost', method, name, request, code, field, extra);
const model =
  (path: string, over: Message = {}) =>
  (): Message => ({ path, modelId: 'hostile-model', ...over });

M('loadModel', 'path /etc/passwd', model('/etc/passwd'), PD, 'path');
M('loadModel', 'path ../outside/secret.txt', model('../outside/secret.txt'), PD, 'path');
M('loadModel', 'path absolute outside the root', (f) => model(`${f.outside}/secret.txt`)(), PD, 'path');
M('loadModel', 'path symlink out of the root', model('link-out'), PD, 'path');
M('loadModel', 'path through a symlinked folder out of the root', model('link-dir-out/secret.txt'), PD, 'path');
M('loadModel', 'path /proc/self/environ', model('/proc/self/environ'), PD, 'path');
M('loadModel', 'path /dev/zero', model('/dev/zero'), PD, 'path');
M('loadModel', 'path FIFO', model('fifo.bin'), IA, 'path');
M('loadModel', 'path an empty folder (no config.json)', model('folder'), NF, 'path');
M('loadModel', 'path with a NUL byte', model('stories260K\u0000.bin'), IA, 'path');
M('loadModel', 'path of 5000 characters', model(long(5000)), IA, 'path');
M('loadModel', 'path nonexistent', model('missing.bin'), NF, 'path');
M('loadModel', 'path empty', model(''), IA, 'path');
M('loadModel', 'path a secret text file', model('secret.txt'), IA, 'path');
M('loadModel', 'path a garbage .bin', model('garbage.bin'), IA, 'path');
M('loadModel', 'path a folder whose config.json is secret garbage', model('hf-secret'), IA, 'path');
M('loadModel', 'tokenizer_path /etc/passwd', model('stories260K.bin', { tokenizerPath: '/etc/passwd' }), PD, 'tokenizer_path');
M('loadModel', 'tokenizer_path FIFO', model('stories260K.bin', { tokenizerPath: 'fifo.bin' }), IA, 'tokenizer_path');
M('loadModel', 'tokenizer_path a secret text file', model('stories260K.bin', { tokenizerPath: 'secret.txt' }), IA, 'tokenizer_path');
M('loadModel', 'tokenizer_path nonexistent', model('stories260K.bin', { tokenizerPath: 'missing.bin' }), NF, 'tokenizer_path');
M('loadModel', 'model_id ../x', model('stories260K.bin', { modelId: '../x' }), IA, 'model_id');
M('loadModel', 'model_id of 5000 characters', model('stories260K.bin', { modelId: long(5000) }), IA, 'model_id');

/** HF folders and llama2.c checkpoints with absurd dimensions, placed in the model root by the runner. */
export const absurdHfConfigs: Record<string, Record<string, unknown>> = {
  'hf-ctx-2e7': { max_position_embeddings: 2e7 },
  'hf-ctx-1e9': { max_position_embeddings: 1e9 },
  'hf-ctx-inf': { max_position_embeddings: Infinity },
  'hf-ctx-neg': { max_position_embeddings: -1 },
  'hf-ctx-frac': { max_position_embeddings: 512.5 },
  'hf-hidden-1e9': { hidden_size: 1e9 },
  'hf-layers-1e6': { num_hidden_layers: 1e6 },
  'hf-vocab-0': { vocab_size: 0 },
  'hf-heads-0': { num_attention_heads: 0 },
  'hf-kv-heads-3': { num_key_value_heads: 3 },
  'hf-intermediate-neg': { intermediate_size: -1 },
  'hf-huge': {
    hidden_size: 65536,
    intermediate_size: 262144,
    num_hidden_layers: 1024,
    vocab_size: 1 << 20,
    head_dim: 4096,
    num_attention_heads: 16,
    num_key_value_heads: 16,
  },
};
/** llama2.c header fields (int32 x 7): dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len. */
export const absurdBinHeaders: Record<
  string,
  Partial<Record<'dim' | 'hidden_dim' | 'n_layers' | 'n_heads' | 'n_kv_heads' | 'vocab_size' | 'seq_len', number>>
> = {
  'bin-seq-2e7.bin': { seq_len: 2e7 },
  'bin-seq-1e9.bin': { seq_len: 1e9 },
  'bin-dim-1e9.bin': { dim: 1e9 },
  'bin-layers-0.bin': { n_layers: 0 },
  'bin-huge.bin': { dim: 65536, hidden_dim: 262144, n_layers: 1024, n_heads: 16, n_kv_heads: 16, vocab_size: 1 << 20 },
};
const hfField: Record<string, string> = {
  'hf-ctx-2e7': 'max_position_embeddings',
  'hf-ctx-1e9': 'max_position_embeddings',
  'hf-ctx-inf': 'max_position_embeddings',
  'hf-ctx-neg': 'max_position_embeddings',
  'hf-ctx-frac': 'max_position_embeddings',
  'hf-hidden-1e9': 'hidden_size',
  'hf-layers-1e6': 'num_hidden_layers',
  'hf-vocab-0': 'vocab_size',
  'hf-heads-0': 'num_attention_heads',
  'hf-kv-heads-3': 'num_key_value_heads',
  'hf-intermediate-neg': 'intermediate_size',
};
for (const [folder, cfg] of Object.entries(absurdHfConfigs)) {
  const field = hfField[folder];
  const what = Object.entries(cfg)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  if (field) M('loadModel', `config.json ${what}`, model(folder), IA, [field, 'path'], { mentions: [field] });
  else M('loadModel', 'config.json of a model too big for memory', model(folder), RE, ['config', 'path']);
}
for (const [file, header] of Object.entries(absurdBinHeaders)) {
  const entries = Object.entries(header);
  if (file === 'bin-huge.bin') M('loadModel', 'llama2.c header of a model too big for memory', model(file), RE, ['config', 'path']);
  else M('loadModel', `llama2.c header ${entries[0][0]} ${entries[0][1]}`, model(file), IA, [entries[0][0], 'path'], { mentions: [entries[0][0]] });
}

M('getModelInfo', 'unknown model_id', () => ({ modelId: 'no-such-model' }), NF, 'model_id');
M('getModelInfo', 'empty model_id', () => ({ modelId: '' }), IA, 'model_id');
M('unloadModel', 'unknown model_id', () => ({ modelId: 'no-such-model' }), NF, 'model_id');
M('unloadModel', 'empty model_id', () => ({ modelId: '' }), IA, 'model_id');

M('tokenize', 'a 2 MiB text', (f) => ({ modelId: f.modelId, texts: [mib(2)] }), IA, 'texts');
M('tokenize', 'a 10 MiB text', (f) => ({ modelId: f.modelId, texts: [mib(10)] }), IA, 'texts');
M(
  'tokenize',
  'two 600 KiB texts (over the per-request total)',
  (f) => ({ modelId: f.modelId, texts: [mib(1).slice(0, 600 * 1024), mib(1).slice(0, 600 * 1024)] }),
  IA,
  'texts',
);
M('tokenize', '5000 texts', (f) => ({ modelId: f.modelId, texts: new Array<string>(5000).fill('a') }), IA, 'texts');
M('tokenize', 'unknown model_id', () => ({ modelId: 'no-such-model', texts: ['a'] }), NF, 'model_id');

M('detokenize', 'token id = vocab size', (f) => ({ modelId: f.modelId, rows: [{ ids: [1, f.vocab] }] }), IA, 'rows[0].ids');
M('detokenize', 'token id -1', (f) => ({ modelId: f.modelId, rows: [{ ids: [-1] }] }), IA, 'rows[0].ids');
M('detokenize', 'token id 2^31-1', (f) => ({ modelId: f.modelId, rows: [{ ids: [2 ** 31 - 1] }] }), IA, 'rows[0].ids');
M('detokenize', '5000 rows', (f) => ({ modelId: f.modelId, rows: new Array(5000).fill({ ids: [1] }) }), IA, 'rows');
M('detokenize', 'unknown model_id', () => ({ modelId: 'no-such-model', rows: [{ ids: [1] }] }), NF, 'model_id');

let memories = 0;
const memory =
  (config: Message, over: Message = {}) =>
  (f: Fixture): Message => ({
    modelId: f.modelId,
    memoryId: `hostile-${++memories}`,
    config: { kind: common.MemoryKind.MEMORY_KIND_MEMORY, layer: 2, entries: 8, ...config },
    ...over,
  });
const simset = { kind: common.MemoryKind.MEMORY_KIND_SIMSET };
const docKey = { kind: common.MemoryKind.MEMORY_KIND_DOC_KEY };
const twoDocs = {
  documents: [
    { documentIndex: 0, ids: [1, 403, 407, 261] },
    { documentIndex: 1, ids: [1, 300, 301, 302] },
  ],
};
M('createMemory', 'config.kind 99', memory({ kind: 99 }), IA, 'config.kind');
M('createMemory', 'config.kind -1', memory({ kind: -1 }), IA, 'config.kind');
M('createMemory', 'config.kind unspecified', memory({ kind: 0 }), IA, 'config.kind');
M('createMemory', 'config.layer = layers', memory({ layer: 5 }), IA, 'config.layer');
M('createMemory', 'config.layer -1', memory({ layer: -1 }), IA, 'config.layer');
M('createMemory', 'config.entries -1', memory({ entries: -1 }), IA, 'config.entries');
M('createMemory', 'config.entries 1e6', memory({ entries: 1e6 }), IA, 'config.entries');
M('createMemory', 'config.entries 2^31-1', memory({ entries: 2 ** 31 - 1 }), IA, 'config.entries');
M('createMemory', 'config.shingle_k 99', memory({ ...simset, shingleK: 99 }, twoDocs), IA, 'config.shingle_k');
M('createMemory', 'config.alpha NaN', memory({ alpha: NaN }), IA, 'config.alpha');
M('createMemory', 'config.alpha 2', memory({ alpha: 2 }), IA, 'config.alpha');
M('createMemory', 'config.set_probability -0.5', memory({ ...simset, setProbability: -0.5 }, twoDocs), IA, 'config.set_probability');
M('createMemory', 'config.set_probability Infinity', memory({ ...simset, setProbability: Infinity }, twoDocs), IA, 'config.set_probability');
M('createMemory', 'config.key_dim -1', memory({ ...docKey, keyDim: -1 }, twoDocs), IA, 'config.key_dim');
M('createMemory', 'config.key_dim 1e6', memory({ ...docKey, keyDim: 1e6 }, twoDocs), IA, 'config.key_dim');
M('createMemory', 'config.gelu 99', memory({ gelu: 99 }), IA, 'config.gelu');
M('createMemory', 'config.mode 99', memory({ mode: 99 }), IA, 'config.mode');
M('createMemory', 'config.mode token for an unstructured memory', memory({ mode: common.MaskMode.MASK_MODE_TOKEN }), IA, 'config.mode');
M('createMemory', 'config.key_generator 99', memory({ ...docKey, keyGenerator: 99 }, twoDocs), IA, 'config.key_generator');
M('createMemory', 'config.key_activation -1', memory({ ...docKey, keyActivation: -1 }, twoDocs), IA, 'config.key_activation');
M('createMemory', 'config.guidance_weight NaN', memory({ ...docKey, guidanceWeight: NaN }, twoDocs), IA, 'config.guidance_weight');
M('createMemory', 'config.guidance_margin -1', memory({ ...docKey, guidanceMargin: -1 }, twoDocs), IA, 'config.guidance_margin');
M('createMemory', 'config.gate_init Infinity', memory({ gateInit: Infinity }), IA, 'config.gate_init');
M('createMemory', 'config.up_bias_init 1e38', memory({ upBiasInit: 1e38 }), IA, 'config.up_bias_init');
M('createMemory', 'memory_id empty', memory({}, { memoryId: '' }), IA, 'memory_id');
M('createMemory', 'memory_id a/b', memory({}, { memoryId: 'a/b' }), IA, 'memory_id');
M('createMemory', 'memory_id of 5000 characters', memory({}, { memoryId: long(5000) }), IA, 'memory_id');
M('createMemory', 'memory_id taken', (f) => memory({}, { memoryId: f.memoryId })(f), AE, 'memory_id');
M('createMemory', 'unknown model_id', memory({}, { modelId: 'no-such-model' }), NF, 'model_id');
const dlp = (documents: Message[]) => memory({ kind: common.MemoryKind.MEMORY_KIND_DLP }, { documents });
M('createMemory', 'documents[0].ids with id = vocab size', (f) => dlp([{ documentIndex: 0, ids: [1, f.vocab] }])(f), IA, 'documents[0].ids');
M('createMemory', 'documents[0].ids with id -1', dlp([{ documentIndex: 0, ids: [1, -1] }]), IA, 'documents[0].ids');
M('createMemory', 'document-wise kind without documents', dlp([]), IA, 'documents');
M('createMemory', 'documents[0].document_index 99999', dlp([{ documentIndex: 99_999, ids: [1, 2] }]), IA, 'documents[0].document_index');
M('createMemory', 'config.seed 2^53 (taken modulo 2^32)', memory({ seed: P53 }), OK);
M('createMemory', 'config.seed 2^64-1 (taken modulo 2^32)', memory({ seed: U64_MAX }), OK);

M('getMemory', 'unknown memory_id', () => ({ memoryId: 'no-such-memory' }), NF, 'memory_id');
M('deleteMemory', 'unknown memory_id', () => ({ memoryId: 'no-such-memory' }), NF, 'memory_id');
M('deleteMemory', 'empty memory_id', () => ({ memoryId: '' }), IA, 'memory_id');
M('listMemories', 'model_id ../', () => ({ modelId: '../' }), IA, 'model_id');

const save =
  (path: string, overwrite = false) =>
  (f: Fixture) => ({ memoryId: f.memoryId, path, overwrite });
M('saveMemory', 'path ../outside/x.safetensors', save('../outside/x.safetensors'), PD, 'path');
M('saveMemory', 'path ../../x.safetensors', save('../../x.safetensors'), PD, 'path');
M('saveMemory', 'path an existing file outside the root, overwrite', (f) => save(`${f.outside}/victim.txt`, true)(f), PD, 'path');
M('saveMemory', 'path through a symlinked folder out of the root', save('link-dir-out/x.safetensors', true), PD, 'path');
M('saveMemory', 'path /dev/null', save('/dev/null', true), PD, 'path');
M('saveMemory', 'path an existing unrelated file', save('notes.txt'), AE, 'path');
M('saveMemory', 'path an existing unrelated file, overwrite', save('notes.txt', true), AE, 'path');
M('saveMemory', 'path an existing memory file without overwrite', save('saved.safetensors'), AE, 'path');
M('saveMemory', 'path a FIFO, overwrite', save('fifo.safetensors', true), AE, 'path');
M('saveMemory', 'path a folder, overwrite', save('folder', true), AE, 'path');
M('saveMemory', 'path below a file (ENOTDIR)', save('notes.txt/x.safetensors'), IA, 'path');
M('saveMemory', 'path with a NUL byte', save('a\u0000b.safetensors'), IA, 'path');
M('saveMemory', 'path of 5000 characters', save(long(5000)), IA, 'path');
M('saveMemory', 'file name of 300 characters (ENAMETOOLONG)', save(`${long(300)}.safetensors`), IA, 'path');
M('saveMemory', 'path empty', save(''), IA, 'path');
M('saveMemory', 'unknown memory_id', () => ({ memoryId: 'no-such-memory', path: 'x.safetensors' }), NF, 'memory_id');

const load =
  (path: string, over: Message = {}) =>
  (f: Fixture) => ({ modelId: f.modelId, path, memoryId: 'hostile-loaded', replace: true, ...over });
M('loadMemory', 'path /etc/shadow', load('/etc/shadow'), PD, 'path');
M('loadMemory', 'path /proc/self/environ', load('/proc/self/environ'), PD, 'path');
M('loadMemory', 'path ../outside/secret.txt', load('../outside/secret.txt'), PD, 'path');
M('loadMemory', 'path symlink out of the root', load('link-out'), PD, 'path');
M('loadMemory', 'path /dev/zero', load('/dev/zero'), PD, 'path');
M('loadMemory', 'path FIFO', load('fifo.safetensors'), IA, 'path');
M('loadMemory', 'path a folder (EISDIR)', load('folder'), IA, 'path');
M('loadMemory', 'path nonexistent (ENOENT)', load('missing.safetensors'), NF, 'path');
M('loadMemory', 'path with a NUL byte', load('a\u0000b'), IA, 'path');
M('loadMemory', 'path of 5000 characters', load(long(5000)), IA, 'path');
M('loadMemory', 'path a safetensors file with a secret header', load('secret.safetensors'), IA, 'path');
M('loadMemory', 'path an unrelated text file', load('notes.txt'), IA, 'path');
M('loadMemory', 'unknown model_id', load('saved.safetensors', { modelId: 'no-such-model' }), NF, 'model_id');
M('loadMemory', 'memory_id taken without replace', (f) => load('saved.safetensors', { memoryId: f.memoryId, replace: false })(f), AE, 'memory_id');

const score =
  (item: Message, over: Message = {}) =>
  (f: Fixture) => ({
    modelId: f.modelId,
    items: [{ context: [1, 403], continuation: [261], ...item }],
    ...over,
  });
M('score', 'continuation longer than the context window', (f) => score({ continuation: ids(f.maxLength + 1) })(f), IA, 'items[0].continuation');
M('score', 'continuation of 1e6 ids', score({ continuation: ids(1e6) }), IA, 'items[0].continuation');
M('score', 'no items', score({}, { items: [] }), IA, 'items');
M('score', 'empty context', score({ context: [] }), IA, 'items[0].context');
M('score', 'empty continuation', score({ continuation: [] }), IA, 'items[0].continuation');
M('score', 'context id = vocab size', (f) => score({ context: [1, f.vocab] })(f), IA, 'items[0].context');
M('score', 'context id -1', score({ context: [1, -1] }), IA, 'items[0].context');
M('score', 'continuation id 99999', score({ continuation: [99_999] }), IA, 'items[0].continuation');
M('score', 'batch_size -1', score({}, { batchSize: -1 }), IA, 'batch_size');
M('score', 'batch_size 1e6', score({}, { batchSize: 1e6 }), IA, 'batch_size');
M('score', '5000 items', (f) => score({}, { items: new Array(5000).fill({ context: [1], continuation: [2] }) })(f), IA, 'items');
M('score', 'unknown memory', score({}, { memory: { memoryId: 'no-such-memory' } }), NF, 'memory.memory_id');
M('score', 'memory.mask_source 99', (f) => score({}, { memory: { memoryId: f.memoryId, maskSource: 99 } })(f), IA, 'memory.mask_source');
M('score', 'unknown model_id', score({}, { modelId: 'no-such-model' }), NF, 'model_id');

const generate = (over: Message) => (f: Fixture) => ({
  modelId: f.modelId,
  prompt: 'Once upon a time',
  maxNewTokens: 4,
  temperature: 0,
  topP: 1,
  ...over,
});
M('generate', 'top_p NaN', generate({ topP: NaN }), IA, 'top_p');
M('generate', 'top_p 2', generate({ topP: 2 }), IA, 'top_p');
M('generate', 'top_p -1', generate({ topP: -1 }), IA, 'top_p');
M('generate', 'temperature -1', generate({ temperature: -1 }), IA, 'temperature');
M('generate', 'temperature NaN', generate({ temperature: NaN }), IA, 'temperature');
M('generate', 'temperature Infinity', generate({ temperature: Infinity }), IA, 'temperature');
M('generate', 'max_new_tokens 1e9', generate({ maxNewTokens: 1e9 }), IA, 'max_new_tokens');
M('generate', 'max_new_tokens -1', generate({ maxNewTokens: -1 }), IA, 'max_new_tokens');
M('generate', 'prompt_ids of 1e6 ids', generate({ promptIds: ids(1e6) }), IA, 'prompt_ids');
M('generate', 'prompt_ids longer than the context window', (f) => generate({ promptIds: ids(f.maxLength + 1) })(f), IA, 'prompt_ids');
M('generate', 'prompt_ids with id = vocab size', (f) => generate({ promptIds: [1, f.vocab] })(f), IA, 'prompt_ids');
M('generate', 'a 2 MiB prompt', generate({ prompt: mib(2) }), IA, 'prompt');
M('generate', '100 stop strings', generate({ stop: new Array<string>(100).fill('x') }), IA, 'stop');
M('generate', 'unknown memory', generate({ memory: { memoryId: 'no-such-memory' } }), NF, 'memory.memory_id');
M('generate', 'seed 2^53 (taken modulo 2^32)', generate({ temperature: 1 }), OK, undefined, { wire: wireVarint(8, P53) });
M('generate', 'seed 2^64-1 (taken modulo 2^32)', generate({ temperature: 1 }), OK, undefined, { wire: wireVarint(8, U64_MAX) });

const loss =
  (row: Message | null, over: Message = {}) =>
  (f: Fixture) => ({ modelId: f.modelId, rows: row ? [{ ids: [1, 403, 407], ...row }] : [], ...over });
M('documentLoss', 'no rows', loss(null), IA, 'rows');
M('documentLoss', 'rows[0] with 0 ids', loss({ ids: [] }), IA, 'rows[0].ids');
M('documentLoss', 'rows[0] with 1 id', loss({ ids: [1] }), IA, 'rows[0].ids');
M('documentLoss', 'rows[0] with 1e6 ids', loss({ ids: ids(1e6) }), IA, 'rows[0].ids');
M('documentLoss', 'rows[0] longer than the context window', (f) => loss({ ids: ids(f.maxLength + 2) })(f), IA, 'rows[0].ids');
M('documentLoss', 'token id = vocab size', (f) => loss({ ids: [1, f.vocab] })(f), IA, 'rows[0].ids');
M('documentLoss', 'batch_size -1', loss({}, { batchSize: -1 }), IA, 'batch_size');

const step = (over: Message) => (f: Fixture) => ({ memoryId: f.memoryId, rows: [{ ids: [1, 403, 407, 261] }], learningRate: 1e-3, ...over });
M('trainStep', 'learning_rate Infinity', step({ learningRate: Infinity }), IA, 'learning_rate');
M('trainStep', 'learning_rate 1e38', step({ learningRate: 1e38 }), IA, 'learning_rate');
M('trainStep', 'learning_rate NaN', step({ learningRate: NaN }), IA, 'learning_rate');
M('trainStep', 'learning_rate -1', step({ learningRate: -1 }), IA, 'learning_rate');
M('trainStep', 'beta1 2', step({ beta1: 2 }), IA, 'beta1');
M('trainStep', 'beta1 NaN', step({ beta1: NaN }), IA, 'beta1');
M('trainStep', 'beta2 -5', step({ beta2: -5 }), IA, 'beta2');
M('trainStep', 'epsilon 0', step({ epsilon: 0 }), IA, 'epsilon');
M('trainStep', 'epsilon -1', step({ epsilon: -1 }), IA, 'epsilon');
M('trainStep', 'grad_clip -1', step({ gradClip: -1 }), IA, 'grad_clip');
M('trainStep', 'grad_clip Infinity', step({ gradClip: Infinity }), IA, 'grad_clip');
M('trainStep', 'weight_decay NaN', step({ weightDecay: NaN }), IA, 'weight_decay');
M('trainStep', 'weight_decay -100', step({ weightDecay: -100 }), IA, 'weight_decay');
M('trainStep', 'anchor_kl_weight -1', step({ anchorKlWeight: -1 }), IA, 'anchor_kl_weight');
M('trainStep', 'anchor_kl_weight NaN', step({ anchorKlWeight: NaN }), IA, 'anchor_kl_weight');
M('trainStep', 'anchor_samples -1', step({ anchorSamples: -1 }), IA, 'anchor_samples');
M('trainStep', 'anchor_sample_tokens 1e9', step({ anchorSampleTokens: 1e9 }), IA, 'anchor_sample_tokens');
M('trainStep', 'no rows', step({ rows: [] }), IA, 'rows');
M('trainStep', 'rows[0] with 0 ids', step({ rows: [{ ids: [] }] }), IA, 'rows[0].ids');
M('trainStep', 'token id = vocab size', (f) => step({ rows: [{ ids: [1, f.vocab] }] })(f), IA, 'rows[0].ids');
M('trainStep', 'token id -1', step({ rows: [{ ids: [1, -1] }] }), IA, 'rows[0].ids');
M('trainStep', 'rows[0] with 1e6 ids', step({ rows: [{ ids: ids(1e6) }] }), IA, 'rows[0].ids');
M('trainStep', 'unknown memory_id', step({ memoryId: 'no-such-memory' }), NF, 'memory_id');

// ---- Trainer ----

const T = (method: string, name: string, request: (f: Fixture) => Message, code: status, field?: string | string[]) =>
  rpc('trainer', method, name, request, code, field);
const memoryConfig = { kind: common.MemoryKind.MEMORY_KIND_MEMORY, layer: 2, entries: 8 };
const training = { learningRate: 1e-3, epochs: 1, batchSize: 2, maxSteps: 1 };
const runSpec = { modelPath: 'stories260K.bin', claimsPath: 'claims.jsonl', pagesPath: 'pages.jsonl', topN: 5, memory: memoryConfig, training };
const run =
  (spec: Message = {}, over: Message = {}) =>
  () => ({ runId: 'hostile-run', spec: { ...runSpec, ...spec }, ...over });
const runTraining = (t: Message) => run({ training: { ...training, ...t } });

T('getRun', 'unknown run_id', () => ({ runId: 'no-such-run' }), NF, 'run_id');
T('getRun', 'empty run_id', () => ({ runId: '' }), IA, 'run_id');
T('getRun', 'run_id of 5000 characters', () => ({ runId: long(5000) }), IA, 'run_id');
T('watchRun', 'unknown run_id', () => ({ runId: 'no-such-run' }), NF, 'run_id');
T('cancelRun', 'unknown run_id', () => ({ runId: 'no-such-run' }), NF, 'run_id');
T('listRuns', 'state 99', () => ({ state: 99 }), IA, 'state');
T('listRuns', 'state -1', () => ({ state: -1 }), IA, 'state');
T('listRuns', 'limit -1', () => ({ limit: -1 }), IA, 'limit');
T('listRuns', 'limit 1e6', () => ({ limit: 1e6 }), IA, 'limit');
T('startRun', 'spec.training.learning_rate Infinity', runTraining({ learningRate: Infinity }), IA, 'spec.training.learning_rate');
T('startRun', 'spec.training.learning_rate 1e38', runTraining({ learningRate: 1e38 }), IA, 'spec.training.learning_rate');
T('startRun', 'spec.training.beta1 2', runTraining({ beta1: 2 }), IA, 'spec.training.beta1');
T('startRun', 'spec.training.beta2 -5', runTraining({ beta2: -5 }), IA, 'spec.training.beta2');
T('startRun', 'spec.training.epsilon 0', runTraining({ epsilon: 0 }), IA, 'spec.training.epsilon');
T('startRun', 'spec.training.grad_clip -1', runTraining({ gradClip: -1 }), IA, 'spec.training.grad_clip');
T('startRun', 'spec.training.weight_decay NaN', runTraining({ weightDecay: NaN }), IA, 'spec.training.weight_decay');
T('startRun', 'spec.training.weight_decay -100', runTraining({ weightDecay: -100 }), IA, 'spec.training.weight_decay');
T('startRun', 'spec.training.batch_size -1', runTraining({ batchSize: -1 }), IA, 'spec.training.batch_size');
T('startRun', 'spec.training.epochs 1e9', runTraining({ epochs: 1e9 }), IA, 'spec.training.epochs');
T('startRun', 'spec.training.max_length 1e9', runTraining({ maxLength: 1e9 }), IA, 'spec.training.max_length');
T('startRun', 'spec.memory.kind 99', run({ memory: { ...memoryConfig, kind: 99 } }), IA, 'spec.memory.kind');
T('startRun', 'spec.memory.layer -1', run({ memory: { ...memoryConfig, layer: -1 } }), IA, 'spec.memory.layer');
T(
  'startRun',
  'spec.memory.shingle_k 99',
  run({ memory: { ...memoryConfig, kind: common.MemoryKind.MEMORY_KIND_SIMSET, shingleK: 99 } }),
  IA,
  'spec.memory.shingle_k',
);
T('startRun', 'spec.model_path with a NUL byte', run({ modelPath: 'stories\u0000.bin' }), IA, 'spec.model_path');
T('startRun', 'spec.model_path empty', run({ modelPath: '' }), IA, 'spec.model_path');
T('startRun', 'spec.claims_path of 5000 characters', run({ claimsPath: long(5000) }), IA, 'spec.claims_path');
T('startRun', 'spec.eval_every -1', run({ evalEvery: -1 }), IA, 'spec.eval_every');
T('startRun', 'spec.top_n -1', run({ topN: -1 }), IA, 'spec.top_n');
T('startRun', 'run_id a/b', run({}, { runId: 'a/b' }), IA, 'run_id');

// ---- Evaluator ----

const E = (method: string, name: string, request: (f: Fixture) => Message, code: status, field?: string | string[]) =>
  rpc('evaluator', method, name, request, code, field);
const evalSpec = {
  modelPath: 'stories260K.bin',
  claimsPath: 'claims.jsonl',
  pagesPath: 'pages.jsonl',
  topN: 5,
  scoring: evaluator.ScoringMode.SCORING_MODE_LOGLIK,
  limit: 1,
  name: 'hostile',
};
const evaluation =
  (spec: Message = {}, over: Message = {}) =>
  () => ({ evaluationId: 'hostile-eval', spec: { ...evalSpec, ...spec }, ...over });
const sweep = (spec: Message) => () => ({
  sweepId: 'hostile-sweep',
  spec: { evaluation: evalSpec, variants: [{ name: 'v', memory: memoryConfig }], layers: [2], training, ...spec },
});

E('getEvaluation', 'unknown evaluation_id', () => ({ evaluationId: 'no-such-evaluation' }), NF, 'evaluation_id');
E('getEvaluation', 'empty evaluation_id', () => ({ evaluationId: '' }), IA, 'evaluation_id');
E('watchEvaluation', 'unknown evaluation_id', () => ({ evaluationId: 'no-such-evaluation' }), NF, 'evaluation_id');
E('cancelEvaluation', 'unknown evaluation_id', () => ({ evaluationId: 'no-such-evaluation' }), NF, 'evaluation_id');
E('listEvaluations', 'limit -1', () => ({ limit: -1 }), IA, 'limit');
E('listEvaluations', 'limit 1e6', () => ({ limit: 1e6 }), IA, 'limit');
E('getSweep', 'unknown sweep_id', () => ({ sweepId: 'no-such-sweep' }), NF, 'sweep_id');
E('watchSweep', 'unknown sweep_id', () => ({ sweepId: 'no-such-sweep' }), NF, 'sweep_id');
E('cancelSweep', 'unknown sweep_id', () => ({ sweepId: 'no-such-sweep' }), NF, 'sweep_id');
E('listSweeps', 'limit -1', () => ({ limit: -1 }), IA, 'limit');
E('startEvaluation', 'spec.shots 99', evaluation({ shots: 99 }), IA, 'spec.shots');
E('startEvaluation', 'spec.scoring 99', evaluation({ scoring: 99 }), IA, 'spec.scoring');
E('startEvaluation', 'spec.scoring -1', evaluation({ scoring: -1 }), IA, 'spec.scoring');
E('startEvaluation', 'spec.mask_source 99', evaluation({ maskSource: 99 }), IA, 'spec.mask_source');
E('startEvaluation', 'spec.max_new_tokens 1e9', evaluation({ maxNewTokens: 1e9 }), IA, 'spec.max_new_tokens');
E('startEvaluation', 'spec.batch_size -1', evaluation({ batchSize: -1 }), IA, 'spec.batch_size');
E('startEvaluation', 'spec.limit -1', evaluation({ limit: -1 }), IA, 'spec.limit');
E('startEvaluation', 'spec.pool_per_page 1e6', evaluation({ poolPerPage: 1e6 }), IA, 'spec.pool_per_page');
E('startEvaluation', 'spec.model_path with a NUL byte', evaluation({ modelPath: 'stories\u0000.bin' }), IA, 'spec.model_path');
E('startEvaluation', 'spec.memory_path of 5000 characters', evaluation({ memoryPath: long(5000) }), IA, 'spec.memory_path');
E('startEvaluation', 'spec.name of 5000 characters', evaluation({ name: long(5000) }), IA, 'spec.name');
E('startEvaluation', 'spec.top_n -1', evaluation({ topN: -1 }), IA, 'spec.top_n');
E('startEvaluation', 'evaluation_id ../x', evaluation({}, { evaluationId: '../x' }), IA, 'evaluation_id');
E('startSweep', 'spec.variants empty', sweep({ variants: [] }), IA, 'spec.variants');
E('startSweep', 'spec.variants[0].name empty', sweep({ variants: [{ name: '', memory: memoryConfig }] }), IA, 'spec.variants[0].name');
E('startSweep', 'spec.variants[1].name repeated', sweep({ variants: [{ name: 'v' }, { name: 'v' }] }), IA, 'spec.variants[1].name');
E(
  'startSweep',
  'spec.variants[0].memory.kind 99',
  sweep({ variants: [{ name: 'v', memory: { ...memoryConfig, kind: 99 } }] }),
  IA,
  'spec.variants[0].memory.kind',
);
E('startSweep', 'spec.layers [-1]', sweep({ layers: [-1] }), IA, 'spec.layers');
E(
  'startSweep',
  'spec.training.learning_rate Infinity',
  sweep({ training: { ...training, learningRate: Infinity } }),
  IA,
  'spec.training.learning_rate',
);
E('startSweep', 'spec.evaluation.scoring 99', sweep({ evaluation: { ...evalSpec, scoring: 99 } }), IA, 'spec.evaluation.scoring');

// ---- The command line (no roots: paths are the fixture's files) ----

const cli = (name: string, args: (f: Fixture) => string[], names: string[]): void => {
  cases.push({ kind: 'cli', name, args, names });
};
const gen =
  (...extra: string[]) =>
  (f: Fixture) => ['generate', '--model', `${f.modelRoot}/stories260K.bin`, '--prompt', 'Once', '--max-new-tokens', '4', ...extra];
const stats =
  (...extra: string[]) =>
  (f: Fixture) => ['data', 'stats', '--claims', `${f.dataRoot}/claims.jsonl`, '--pages', `${f.dataRoot}/pages.jsonl`, '--top', '5', ...extra];
cli('generate --max-new-tokens abc', gen('--max-new-tokens', 'abc'), ['--max-new-tokens']);
cli('generate --max-new-tokens 1e9', gen('--max-new-tokens', '1e9'), ['--max-new-tokens']);
cli('generate --max-new-tokens -5', gen('--max-new-tokens', '-5'), ['--max-new-tokens']);
cli('generate --temperature -1', gen('--temperature', '-1'), ['--temperature']);
cli('generate --temperature NaN', gen('--temperature', 'NaN'), ['--temperature']);
cli('generate --top-p NaN', gen('--top-p', 'NaN'), ['--top-p']);
cli('generate --top-p 2', gen('--top-p', '2'), ['--top-p']);
cli('generate --seed 18446744073709551616 (2^64)', gen('--seed', '18446744073709551616'), ['--seed']);
cli('generate --seed -1', gen('--seed', '-1'), ['--seed']);
cli('generate --model FIFO', (f) => ['generate', '--model', `${f.modelRoot}/fifo.bin`, '--prompt', 'x'], ['--model', 'fifo.bin']);
cli('generate --model a secret text file', (f) => ['generate', '--model', `${f.modelRoot}/secret.txt`, '--prompt', 'x'], ['--model', 'secret.txt']);
cli('generate --model config.json max_position_embeddings 2e7', (f) => ['generate', '--model', `${f.modelRoot}/hf-ctx-2e7`, '--prompt', 'x'], [
  '--model',
  'max_position_embeddings',
]);
cli('generate --tokenizer FIFO', (f) => [...gen()(f), '--tokenizer', `${f.modelRoot}/fifo.bin`], ['--tokenizer', 'fifo.bin']);
cli('data stats --pool-per-page 1e6', stats('--pool-per-page', '1000000'), ['--pool-per-page']);
cli('data stats --max-length 1e9', stats('--max-length', '1000000000'), ['--max-length']);
cli('data stats --top -1', stats('--top', '-1'), ['--top']);
cli('data stats --seed 1.5', stats('--seed', '1.5'), ['--seed']);
cli('data stats --claims FIFO', (f) => ['data', 'stats', '--claims', `${f.dataRoot}/fifo.jsonl`, '--pages', `${f.dataRoot}/pages.jsonl`], [
  '--claims',
  'fifo.jsonl',
]);
cli('data stats --pages /dev/zero', (f) => ['data', 'stats', '--claims', `${f.dataRoot}/claims.jsonl`, '--pages', '/dev/zero'], [
  '--pages',
  '/dev/zero',
]);
cli(
  'data prompt --claim-id 99999999999999999999',
  (f) => [...stats()(f).map((a) => (a === 'stats' ? 'prompt' : a)), '--claim-id', '99999999999999999999'],
  ['--claim-id'],
);
cli('data prompt --shots -1', (f) => [...stats()(f).map((a) => (a === 'stats' ? 'prompt' : a)), '--claim-id', '1', '--shots', '-1'], ['--shots']);
cli('synth --entities 0', (f) => ['synth', '--entities', '0', '--out', `${f.base}/synth`], ['--entities']);
cli('synth --out an existing file', (f) => ['synth', '--entities', '2', '--out', `${f.base}/existing.txt`], ['--out']);
cli(
  'memory import --layer -1',
  (f) => [
    'memory',
    'import',
    '--kind',
    'memory',
    '--layer',
    '-1',
    '--weights',
    `${f.memoryRoot}/saved.safetensors`,
    '--out',
    `${f.base}/imp.safetensors`,
  ],
  ['--layer'],
);
cli(
  'memory loss --tokens 1,abc',
  (f) => ['memory', 'loss', '--model', `${f.modelRoot}/stories260K.bin`, '--memory', `${f.memoryRoot}/saved.safetensors`, '--tokens', '1,abc'],
  ['--tokens'],
);
cli(
  'memory loss --mask-source bogus',
  (f) => [
    'memory',
    'loss',
    '--model',
    `${f.modelRoot}/stories260K.bin`,
    '--memory',
    `${f.memoryRoot}/saved.safetensors`,
    '--text',
    'a',
    '--mask-source',
    'bogus',
  ],
  ['--mask-source'],
);
cli('memory inspect FIFO', (f) => ['memory', 'inspect', `${f.memoryRoot}/fifo.safetensors`], ['fifo.safetensors']);
cli('memory inspect a secret safetensors header', (f) => ['memory', 'inspect', `${f.memoryRoot}/secret.safetensors`], ['secret.safetensors']);
cli('serve data --port 99999', () => ['serve', 'data', '--port', '99999'], ['--port']);

export const hostileCases: readonly HostileCase[] = cases;
