/**
 * The limits every request is checked against, as constants so the .proto comments, the services and the tests
 * cite one number. Ranges are inclusive unless the name says otherwise.
 */

/** Names of models, memories, runs, evaluations, sweeps and corpora: [A-Za-z0-9._-]{1,128}. */
export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
/** Longest path a client may send (characters); paths never contain a NUL byte. */
export const MAX_PATH_LENGTH = 4096;
/** Longest free-form label (EvaluationSpec.name, SweepVariant.name, page ids), in characters. */
export const MAX_LABEL_LENGTH = 1024;

/** Longest context any model may declare (max_position_embeddings / seq_len) and any token window. */
export const MAX_CONTEXT_LENGTH = 1 << 20;
/** Token ids in one row (TokenRow.ids, ScoreItem.context, MemoryDocument.ids, prompt_ids). */
export const MAX_ROW_TOKENS = MAX_CONTEXT_LENGTH;
/** Rows in one request (Detokenize, DocumentLoss, TrainStep) and items in one Score. */
export const MAX_ROWS_PER_REQUEST = 4096;
/** Token ids in one request, all rows together. */
export const MAX_TOKENS_PER_REQUEST = 1 << 22;
/** Documents in one CreateMemory request (and document indices in GetShingleSets). */
export const MAX_DOCUMENTS = 1 << 16;
/** Texts in one Tokenize request. */
export const MAX_TOKENIZE_TEXTS = 4096;
/** UTF-8 bytes of all texts of one Tokenize request together (and of Generate's prompt text). */
export const MAX_TOKENIZE_BYTES = 1 << 20;
/** Stop strings of one Generate request, and the UTF-8 bytes of each. */
export const MAX_STOP_STRINGS = 16;
export const MAX_STOP_BYTES = 256;

/** Generate.max_new_tokens, EvaluationSpec.max_new_tokens, anchor_sample_tokens. */
export const MAX_NEW_TOKENS = 4096;
/** Highest sampling temperature. */
export const MAX_TEMPERATURE = 100;
/** Rows per forward pass (Score, DocumentLoss, EvaluationSpec.batch_size). */
export const MAX_FORWARD_BATCH = 256;
/** Rows per training step (TrainingConfig.batch_size, StreamTrainingBatches.batch_size). */
export const MAX_TRAIN_BATCH = 4096;
/** Passes over a corpus. */
export const MAX_EPOCHS = 100_000;
/** Steps of a run (max_steps, warmup_steps, checkpoint_every, eval_every, start_step). */
export const MAX_STEPS = 10_000_000;
/** Anchor samples per memory. */
export const MAX_ANCHOR_SAMPLES = 4096;
/** Base-model samples a run's locality measure may draw (RunSpec.locality_samples). */
export const MAX_LOCALITY_SAMPLES = 4096;

/** Learning rate: (0, MAX_LEARNING_RATE]. */
export const MAX_LEARNING_RATE = 10;
/** Decoupled weight decay: [0, MAX_WEIGHT_DECAY]. */
export const MAX_WEIGHT_DECAY = 1;
/** Gradient clipping norm: [0, MAX_GRAD_CLIP] (0 = off). */
export const MAX_GRAD_CLIP = 1e6;
/** Adam epsilon: (0, MAX_EPSILON]. */
export const MAX_EPSILON = 1;
/** Anchor KL weight, doc-key guidance weight and margin: [0, MAX_LOSS_WEIGHT]. */
export const MAX_LOSS_WEIGHT = 1000;
/** |gate_init| and |up_bias_init|. */
export const MAX_INIT_MAGNITUDE = 100;

/** Memory entries m, doc-key key_dim. */
export const MAX_MEMORY_ENTRIES = 65536;
export const MAX_KEY_DIM = 65536;
/** Shingle length k. */
export const MAX_SHINGLE_K = 16;

/** Examples per k-shot prompt. */
export const MAX_SHOTS = 32;
/** Claim rows drawn per epoch (ClaimRows.per_epoch). */
export const MAX_CLAIM_ROWS = 2 ** 24;
/** Examples in a claim row's prompt (ClaimRows.shots): a row must stay within a small model's context. */
export const MAX_CLAIM_ROW_SHOTS = 8;
/** Few-shot pool claims per page (LoadCorpus / EvaluationSpec.pool_per_page). */
export const MAX_POOL_PER_PAGE = 64;
/** Pages kept (top_n). */
export const MAX_TOP_N = 1 << 20;
/** ListDocuments.page_size. */
export const MAX_PAGE_SIZE = 1000;
/** Highest ListDocuments.page_token (a document offset the service issued). */
export const MAX_PAGE_TOKEN = MAX_TOP_N;
/** limit of ListRuns, ListEvaluations, ListSweeps. */
export const MAX_LIST_LIMIT = 1000;
/** limit of StreamEvaluationItems and EvaluationSpec (claims). */
export const MAX_ITEMS_LIMIT = 1 << 24;
/** Variants and layers of a sweep. */
export const MAX_SWEEP_VARIANTS = 64;
export const MAX_SWEEP_LAYERS = 256;
