import { Command, CommanderError, Option } from 'commander';
import { InvalidArgumentError, MemorizeError } from '@memorize/errors';
import { MAX_CONTEXT_LENGTH, MAX_LIST_LIMIT, MAX_NEW_TOKENS, MAX_POOL_PER_PAGE, MAX_SHOTS, MAX_TEMPERATURE, MAX_TOP_N } from '@memorize/validation';
import { describe, flagTables, integerIn, MAX_U32, numberIn, uint64 } from './flags.js';
import { runServe, type ServeOptions } from './commands/serve.js';
import { MAX_MODEL_HOSTS, MODEL_HOSTS_BASE_PORT, stackDown, stackStatus, stackUp } from './commands/stack.js';
import { runStateNames } from './commands/runs.js';
import { CliFailure } from './client.js';
import { configHelp } from './train-config.js';
import { evalSchema, sweepSchema } from './eval-config.js';
import { serviceNames, type ServiceName } from './services.js';
import { registerDeployCommands } from './commands/deploy.js';

// Results go to stdout (text, or one JSON document with --json); everything else to stderr.
const out = process.stdout;
const err = process.stderr;

function number(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new MemorizeError(`${flag} must be a number, got "${value}"`, flag);
  return n;
}

const program = new Command('memorize')
  .description('Memorize documents into a memory module of a frozen LM, then verify FEVER claims')
  .showHelpAfterError()
  // Usage errors (unknown option, invalid choice, missing value) throw a CommanderError instead of exiting 1;
  // the catch below exits 2 after commander has printed its message, which names the flag. Inherited by subcommands.
  .exitOverride()
  .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });

program
  .command('serve')
  .description('run one service in the foreground until SIGTERM/SIGINT')
  .argument('<service>', `one of ${serviceNames.join(', ')}`)
  .option('--port <n>', 'port (default: the service default; 0 = any free port)')
  .option('--host <h>', 'bind address', undefined)
  .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
  .option('--model-root <dir>', 'model-host: client model/tokenizer paths resolve inside it (default $MEMORIZE_HOME/models)')
  .option('--memory-root <dir>', 'model-host: client memory paths resolve inside it (default $MEMORIZE_HOME/memories)')
  .option('--data-root <dir>', 'data: client data paths resolve inside it (default $MEMORIZE_HOME/data)')
  .option('--corpus-cache-bytes <size>', 'data: bytes the held corpora may take, LRU evicted past it (default 512MiB)')
  .option('--model-cache-bytes <size>', 'model-host: bytes the held models may take, LRU evicted past it (default 8GiB)')
  .option('--queue-depth <n>', 'model-host: calls one model queues (waiting or running) before RESOURCE_EXHAUSTED (default 64)')
  .option('--data-dir <dir>', 'trainer/evaluator: folder of the run store (default .memorize/<service>)')
  .option('--data-address <host:port>', 'trainer/evaluator: the DataService (default 127.0.0.1:50051)')
  .option('--model-hosts <list>', 'trainer/evaluator: model-host addresses, comma-separated (default 127.0.0.1:50052)')
  .option('--trainer-address <host:port>', 'evaluator: the Trainer (default 127.0.0.1:50053)')
  .action(async (service: string, options: ServeOptions) => {
    if (options.port !== undefined) integerIn(options.port, '--port', 0, 65535);
    await runServe(service, options);
  });

const stack = program.command('stack').description('the local stack: all four services as background processes');
const portOptions = (cmd: Command): Command => {
  for (const name of serviceNames)
    cmd.addOption(
      new Option(`--${name}-port <n>`, name === 'model-host' ? 'port of the (first) model-host' : `port of ${name}`).argParser((v) =>
        integerIn(v, `--${name}-port`, 0, 65535),
      ),
    );
  return cmd;
};
portOptions(
  stack
    .command('up')
    .description('start data, the model-hosts, trainer and evaluator (only those not already running); wait until healthy; print the log folder')
    .option('--dir <path>', 'state and log folder (default $MEMORIZE_HOME or ./.memorize)')
    .option('--host <h>', 'bind address (default 127.0.0.1)')
    .addOption(
      new Option(
        '--model-hosts <n>',
        `model-host processes, 1..${MAX_MODEL_HOSTS} (default 1), on consecutive ports from --model-host-port: 50052 for one, ${MODEL_HOSTS_BASE_PORT}.. for several`,
      ).argParser((v) => integerIn(v, '--model-hosts', 1, MAX_MODEL_HOSTS)),
    )
    .option('--model-root <dir>', "model-host's model root (default: the repository's ../shared)")
    .option('--memory-root <dir>', "model-host's memory root (default: the working directory)")
    .option('--data-root <dir>', "data's root (default: the repository's ../shared)")
    .option('--json', 'print the stack as JSON'),
)
  .addHelpText(
    'after',
    `
The trainer and evaluator get --model-hosts listing every model-host, --data-address, and --data-dir <dir>/<service>.
On a partly running stack only the missing services start (same ports); changing --model-hosts, a port or the host
of a running stack needs \`memorize stack down\` first.
`,
  )
  .action(async (options: Record<string, unknown>) => {
    const ports: Partial<Record<ServiceName, number>> = {};
    for (const name of serviceNames) {
      const key = `${name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}Port`;
      if (options[key] !== undefined) ports[name] = options[key] as number;
    }
    const result = await stackUp({
      dir: options.dir as string | undefined,
      host: options.host as string | undefined,
      ports,
      modelHosts: options.modelHosts as number | undefined,
      roots: {
        model: options.modelRoot as string | undefined,
        memory: options.memoryRoot as string | undefined,
        data: options.dataRoot as string | undefined,
      },
      err,
    });
    out.write(options.json ? JSON.stringify(result, null, 2) + '\n' : `${result.logDir}\n`);
  });
stack
  .command('status')
  .description("print each service's process and health")
  .option('--dir <path>', 'state folder')
  .option('--json', 'print JSON')
  .action(async (options: { dir?: string; json?: boolean }) => {
    const statuses = await stackStatus({ dir: options.dir });
    if (options.json) out.write(JSON.stringify(statuses, null, 2) + '\n');
    else if (statuses.length === 0) out.write('no stack\n');
    else
      for (const s of statuses) {
        const name = s.instance === undefined ? s.name : `${s.name}#${s.instance + 1}`;
        out.write(`${name.padEnd(13)} ${s.address.padEnd(16)} pid ${String(s.pid).padEnd(8)} ${s.health}\n`);
      }
    if (statuses.some((s) => s.health !== 'SERVING')) process.exitCode = 1;
  });
stack
  .command('down')
  .description('stop the services gracefully (SIGTERM, then SIGKILL after a timeout)')
  .option('--dir <path>', 'state folder')
  .option('--json', 'print JSON')
  .action(async (options: { dir?: string; json?: boolean }) => {
    const results = await stackDown({ dir: options.dir });
    if (options.json) out.write(JSON.stringify(results, null, 2) + '\n');
    else if (results.length === 0) out.write('no stack\n');
    else for (const r of results) out.write(`${r.name.padEnd(10)} pid ${String(r.pid).padEnd(8)} ${r.how}\n`);
  });

program
  .command('generate')
  .description('print a prompt and its continuation, as llama2.c run prints it')
  .requiredOption('--model <path>', 'HF folder or llama2.c .bin')
  .option('--tokenizer <path>', 'tokenizer.bin / tokenizer.json (default: beside the model)')
  .requiredOption('--prompt <text>', 'prompt text')
  .option('--max-new-tokens <n>', 'tokens to generate', '256')
  .option('--temperature <t>', '0 = greedy', '1')
  .option('--top-p <p>', 'nucleus sampling mass', '0.9')
  .option('--seed <s>', 'sampling seed (default: the clock)')
  .action(
    async (o: { model: string; tokenizer?: string; prompt: string; maxNewTokens: string; temperature: string; topP: string; seed?: string }) => {
      const { runGenerate } = await import('./commands/generate.js');
      await runGenerate(
        {
          model: o.model,
          tokenizer: o.tokenizer,
          prompt: o.prompt,
          maxNewTokens: integerIn(o.maxNewTokens, '--max-new-tokens', 1, MAX_NEW_TOKENS),
          temperature: numberIn(o.temperature, '--temperature', 0, MAX_TEMPERATURE),
          topP: numberIn(o.topP, '--top-p', 0, 1, true),
          seed: o.seed === undefined ? undefined : uint64(o.seed, '--seed'),
        },
        out,
      );
    },
  );

function integer(value: string, flag: string): number {
  const n = number(value, flag);
  if (!Number.isInteger(n)) throw new MemorizeError(`${flag} must be an integer, got "${value}"`, flag);
  return n;
}

const corpusOptions = (cmd: Command): Command =>
  cmd
    .requiredOption('--claims <file>', 'FEVER claims JSONL')
    .requiredOption('--pages <file>', 'FEVER wiki-pages JSONL')
    .option('--assignment <file>', 'page assignment sidecar JSONL (NOT ENOUGH INFO claims)')
    .option('--top <n>', 'keep the N pages with most claims (default: all)')
    .option('--seed <s>', 'split seed', '0')
    .option('--pool-per-page <n>', 'few-shot pool claims per page (default 5)')
    .option('--tokenizer <path>', 'tokenize and chunk the pages (tokenizer.json, tokenizer.bin or HF folder)')
    .option('--max-length <n>', 'chunk length in tokens (default 512)')
    .option('--strict', 'fail on the first malformed line instead of skipping it')
    .option('--json', 'print one JSON document');

type CorpusFlags = {
  claims: string;
  pages: string;
  assignment?: string;
  top?: string;
  seed: string;
  poolPerPage?: string;
  tokenizer?: string;
  maxLength?: string;
  strict?: boolean;
  json?: boolean;
};
const corpusArgs = (o: CorpusFlags) => ({
  claims: o.claims,
  pages: o.pages,
  assignment: o.assignment,
  top: o.top === undefined ? undefined : integerIn(o.top, '--top', 1, MAX_TOP_N),
  seed: integerIn(o.seed, '--seed', 0, MAX_U32),
  poolPerPage: o.poolPerPage === undefined ? undefined : integerIn(o.poolPerPage, '--pool-per-page', 1, MAX_POOL_PER_PAGE),
  tokenizer: o.tokenizer,
  maxLength: o.maxLength === undefined ? undefined : integerIn(o.maxLength, '--max-length', 2, MAX_CONTEXT_LENGTH),
  strict: o.strict,
  json: o.json,
});

const dataCmd = program.command('data').description('the FEVER pipeline, run locally');
corpusOptions(dataCmd.command('stats').description('pages, claims per label, pool/eval sizes and tokens of a corpus')).action(
  async (o: CorpusFlags) => {
    const { runDataStats } = await import('./commands/data.js');
    await runDataStats(corpusArgs(o), out);
  },
);
corpusOptions(dataCmd.command('prompt').description('the exact k-shot prompt a model sees for one claim'))
  .requiredOption('--claim-id <id>', 'FEVER claim id')
  .option('--shots <k>', 'examples in the prompt', '1')
  .action(async (o: CorpusFlags & { claimId: string; shots: string }) => {
    const { runDataPrompt } = await import('./commands/data.js');
    await runDataPrompt(
      {
        ...corpusArgs(o),
        claimId: integerIn(o.claimId, '--claim-id', 0, Number.MAX_SAFE_INTEGER),
        shots: integerIn(o.shots, '--shots', 0, MAX_SHOTS),
      },
      out,
    );
  });

program
  .command('synth')
  .description('write a synthetic fact world (FEVER-format pages and claims about fictional entities, and a tokenizer)')
  .option('--seed <s>', 'world seed', '0')
  .option('--entities <n>', 'entities in each of the pretrain and memorize sets (the two-split world)')
  .option('--set-a <n>', 'testbed: entities of A (pages and claims in pretraining); with --set-b and --set-c instead of --entities')
  .option('--set-b <n>', 'testbed: entities of B (never in pretraining: pages to memorize, claims measured)')
  .option('--set-c <n>', 'testbed: entities of C (pages in pretraining, claims never: the ceiling control)')
  .option('--versions <n>', 'versions of each page: n-1 paraphrased, sentence-shuffled versions besides the canonical page', '1')
  .option('--claims-per-entity <s,r,n>', 'claims per entity: SUPPORTS,REFUTES,NOT ENOUGH INFO [2,2,2; testbed 1,1,1]')
  .option('--heldout-per-entity <s,r,n>', 'testbed: held-out claims per A entity (A-heldout): SUPPORTS,REFUTES,NOT ENOUGH INFO [1,1,1]')
  .requiredOption('--out <dir>', 'output folder')
  .option('--json', 'print the written paths as JSON')
  .addHelpText(
    'after',
    `
Two-split world (--entities): OUT/{pretrain,memorize}/{wiki-pages,claims,page_assignment,facts}.jsonl.
Testbed (--set-a/--set-b/--set-c): OUT/{A,A-heldout,C,B}/... per set and OUT/pretrain/ (every version of A's and
C's pages, A's claims). Both: OUT/tokenizer.json (byte-level), OUT/word/tokenizer.json (word-level: every word of
the world), OUT/world.json (manifest; for a testbed it says what each file is). The same seed gives the same bytes.`,
  )
  .action(
    async (o: {
      seed: string;
      entities?: string;
      setA?: string;
      setB?: string;
      setC?: string;
      versions: string;
      claimsPerEntity?: string;
      heldoutPerEntity?: string;
      out: string;
      json?: boolean;
    }) => {
      const { runSynth } = await import('./commands/data.js');
      const perEntity = (value: string | undefined, flag: string) => {
        if (value === undefined) return undefined;
        const parts = value.split(',');
        if (parts.length !== 3) throw new MemorizeError(`${flag} must be three integers S,R,N (got "${value}")`, flag);
        const [s, r, n] = parts.map((x) => integerIn(x, flag, 0, 1000)) as [number, number, number];
        return { SUPPORTS: s, REFUTES: r, 'NOT ENOUGH INFO': n };
      };
      const set = (value: string | undefined, flag: string) => (value === undefined ? undefined : integer(value, flag));
      await runSynth(
        {
          seed: integerIn(o.seed, '--seed', 0, MAX_U32),
          entities: set(o.entities, '--entities'),
          sets: { A: set(o.setA, '--set-a'), B: set(o.setB, '--set-b'), C: set(o.setC, '--set-c') },
          versions: integerIn(o.versions, '--versions', 1, 64),
          claimsPerEntity: perEntity(o.claimsPerEntity, '--claims-per-entity'),
          heldoutPerEntity: perEntity(o.heldoutPerEntity, '--heldout-per-entity'),
          out: o.out,
          json: o.json,
        },
        out,
      );
    },
  );

program
  .command('init-model')
  .description('write a randomly initialised Llama model (HF folder) for a tokenizer: the start of a base model pretrained from scratch')
  .requiredOption('--tokenizer <file>', 'tokenizer.json (or tokenizer.bin / HF folder); the vocabulary and BOS/EOS are its')
  .requiredOption('--out <dir>', 'output folder (new or empty)')
  .option('--dim <n>', 'residual width', '128')
  .option('--layers <n>', 'transformer blocks', '4')
  .option('--heads <n>', 'attention heads', '4')
  .option('--kv-heads <n>', 'key/value heads [--heads]')
  .option('--hidden <n>', 'MLP hidden width', '352')
  .option('--max-length <n>', 'context length (max_position_embeddings)', '256')
  .option('--tie-embeddings', 'share the token embedding with the classifier')
  .option('--seed <n>', 'initialisation seed', '0')
  .option('--std <x>', 'std of the matrix entries (HF initializer_range)', '0.02')
  .option('--json', 'print {"out", "parameters", ...} as JSON')
  .action(
    async (o: {
      tokenizer: string;
      out: string;
      dim: string;
      layers: string;
      heads: string;
      kvHeads?: string;
      hidden: string;
      maxLength: string;
      tieEmbeddings?: boolean;
      seed: string;
      std: string;
      json?: boolean;
    }) => {
      const { runInitModel } = await import('./commands/init-model.js');
      await runInitModel(
        {
          tokenizer: o.tokenizer,
          out: o.out,
          dim: integerIn(o.dim, '--dim', 1, 65_536),
          layers: integerIn(o.layers, '--layers', 1, 1024),
          heads: integerIn(o.heads, '--heads', 1, 1024),
          kvHeads: o.kvHeads === undefined ? undefined : integerIn(o.kvHeads, '--kv-heads', 1, 1024),
          hidden: integerIn(o.hidden, '--hidden', 1, 1 << 20),
          maxLength: integerIn(o.maxLength, '--max-length', 2, MAX_CONTEXT_LENGTH),
          tieEmbeddings: o.tieEmbeddings ?? false,
          seed: integerIn(o.seed, '--seed', 0, MAX_U32),
          std: numberIn(o.std, '--std', 0, 1),
          json: o.json,
        },
        out,
      );
    },
  );

program
  .command('demo-model')
  .description("pretrain the demo's embedded base model from scratch as its recipe says (world, random init, one full-parameter run)")
  .option('--recipe <file>', 'the recipe (world, model, train sections)', 'models/demo/recipe.json')
  .option('--out <dir>', 'where the pretrained model goes (replaced whole at the end)', 'models/demo')
  .option('--work <dir>', 'world, initial model, run store and logs', '.memorize/demo-model')
  .option('--max-steps <n>', 'stop after N steps and print the log as JSON instead of writing --out (the reproduction check)')
  .option('--port-base <n>', "first of the four ports of the command's own stack", '50150')
  .option('--json', 'print the summary as JSON')
  .action(async (o: { recipe: string; out: string; work: string; maxSteps?: string; portBase: string; json?: boolean }) => {
    const { runDemoModel } = await import('./commands/demo-model.js');
    await runDemoModel(
      {
        recipe: o.recipe,
        out: o.out,
        work: o.work,
        maxSteps: o.maxSteps === undefined ? undefined : integerIn(o.maxSteps, '--max-steps', 1, 1_000_000),
        portBase: integerIn(o.portBase, '--port-base', 1024, 65_000),
        json: o.json,
      },
      out,
      err,
    );
  });

program
  .command('train')
  .description('start a memorization run on the trainer from a YAML config, follow it (progress on stderr) and print its summary')
  .requiredOption('--config <file>', 'run configuration (YAML; see below and configs/train.example.yaml)')
  .option('--json', 'print the summary as one JSON object')
  .option('--detach', 'print {"run_id"} once the run is started and return (follow it with `memorize runs wait ID`)')
  .option('--trainer <host:port>', "trainer address (default: the local stack's trainer, else 127.0.0.1:50053)")
  .addHelpText(
    'after',
    `
Summary (--json): {"run_id", "state", "steps", "final_loss", "document_nll_before", "document_nll_after",
"locality_nll_before", "locality_nll_after", "tokens_per_s", "memory_path"}, null where the run has no figure.
Exit status: 0 when the run succeeded; 1 when it failed or was cancelled (its error on stderr) or the trainer does
not answer; 2 for a bad config (one line naming the file and key; no run is started). Ctrl-C stops following and
leaves the run running (reattach with \`memorize runs wait ID\`).
${configHelp()}`,
  )
  .action(async (o: { config: string; json?: boolean; detach?: boolean; trainer?: string }) => {
    const { runTrain } = await import('./commands/runs.js');
    await runTrain(o, out, err);
  });

const runsCmd = program.command('runs').description("the trainer's runs: list, show, wait for and cancel them");
const trainerOption = (cmd: Command): Command =>
  cmd.option('--trainer <host:port>', "trainer address (default: the local stack's trainer, else 127.0.0.1:50053)").option('--json', 'print JSON');
trainerOption(runsCmd.command('list').description('runs in the store, newest first (one summary each)'))
  .addOption(new Option('--state <state>', 'only runs in this state').choices(runStateNames))
  .option('--limit <n>', 'at most this many runs (default 100)')
  .action(async (o: { trainer?: string; json?: boolean; state?: string; limit?: string }) => {
    const { runsList } = await import('./commands/runs.js');
    await runsList({ ...o, limit: o.limit === undefined ? undefined : integerIn(o.limit, '--limit', 1, MAX_LIST_LIMIT) }, out);
  });
trainerOption(
  runsCmd.command('show').description('one run: summary, spec, measures, loss curve, checkpoints, timings (--json: the summary and the full record)'),
)
  .argument('<id>', 'run id')
  .action(async (id: string, o: { trainer?: string; json?: boolean }) => {
    const { runsShow } = await import('./commands/runs.js');
    await runsShow(id, o, out);
  });
trainerOption(runsCmd.command('wait').description('follow a run until it ends (progress on stderr), then print the same summary as train'))
  .argument('<id>', 'run id')
  .action(async (id: string, o: { trainer?: string; json?: boolean }) => {
    const { runsWait } = await import('./commands/runs.js');
    await runsWait(id, o, out, err);
  });
trainerOption(runsCmd.command('cancel').description('stop a run after its current step (its last checkpoint stays usable)'))
  .argument('<id>', 'run id')
  .action(async (id: string, o: { trainer?: string; json?: boolean }) => {
    const { runsCancel } = await import('./commands/runs.js');
    await runsCancel(id, o, out);
  });

const evalConfigHelp = (): string => evalSchema.help();
const sweepConfigHelp = (): string => sweepSchema.help();
const evaluatorFlag = '--evaluator <host:port>';
const evaluatorHelp = "evaluator address (default: the local stack's evaluator, else 127.0.0.1:50054)";
const limitFlag = (cmd: Command, what: string): Command => cmd.option('--limit <n>', `at most this many ${what} (default 100)`);
const listLimit = (limit?: string): number | undefined => (limit === undefined ? undefined : integerIn(limit, '--limit', 1, MAX_LIST_LIMIT));

program
  .command('eval')
  .description('evaluate FEVER claims k-shot on the evaluator from a YAML config, follow it (progress on stderr) and print the report')
  .requiredOption('--config <file>', 'evaluation configuration (YAML; see below and configs/eval.example.yaml)')
  .option('--json', 'print the report as one JSON object')
  .option('--predictions <file>', 'write one JSON line per claim (claim_id, gold, predicted, logprobs or answer), atomically')
  .option('--detach', 'print {"evaluation_id"} once the evaluation is started and return')
  .option(evaluatorFlag, evaluatorHelp)
  .addHelpText(
    'after',
    `
Report (--json): {"evaluation_id", "state", "name", "scoring", "n", "accuracy", "ci_low", "ci_high", "f1_micro",
"f1_macro", "invalid_rate", "per_label": [{"label", "precision", "recall", "f1", "support"}], "confusion" (rows gold
SUPPORTS, REFUTES, NOT ENOUGH INFO; columns predicted, then invalid), "memorization_error", "locality",
"claims_per_s", "memory_path", "error"}, null where there is no figure. Exit status: 0 when the evaluation
succeeded; 1 when it failed or was cancelled or the evaluator does not answer; 2 for a bad config (one line naming
the file and key; nothing is started).
${evalConfigHelp()}`,
  )
  .action(async (o: { config: string; json?: boolean; predictions?: string; detach?: boolean; evaluator?: string }) => {
    const { runEval } = await import('./commands/evals.js');
    await runEval(o, out, err);
  });

const evalsCmd = program.command('evals').description("the evaluator's evaluations: list and show them");
const evaluatorOption = (cmd: Command): Command => cmd.option(evaluatorFlag, evaluatorHelp).option('--json', 'print JSON');
limitFlag(
  evaluatorOption(evalsCmd.command('list').description('evaluations in the store, newest first (one report summary each)')),
  'evaluations',
).action(async (o: { evaluator?: string; json?: boolean; limit?: string }) => {
  const { evalsList } = await import('./commands/evals.js');
  await evalsList({ ...o, limit: listLimit(o.limit) }, out);
});
evaluatorOption(evalsCmd.command('show').description('one evaluation: its report and spec (--json: the report summary and the full record)'))
  .argument('<id>', 'evaluation id')
  .action(async (id: string, o: { evaluator?: string; json?: boolean }) => {
    const { evalsShow } = await import('./commands/evals.js');
    await evalsShow(id, o, out);
  });

program
  .command('sweep')
  .description('train and evaluate every memory variant x layer on the evaluator from a YAML config; print the table, write the report')
  .requiredOption('--config <file>', 'sweep configuration (YAML; see below and configs/sweep.example.yaml)')
  .option('--out <dir>', 'folder for report.md, report.json, report.html and predictions/ (created); required unless --detach')
  .option('--json', "print one JSON object: the sweep, report.json's cells, the table, the significance and the files written")
  .option('--detach', 'print {"sweep_id"} once the sweep is started and return (write its report later with `memorize report ID --out DIR`)')
  .option('--plan-only', "start nothing: write the sweep's Kubernetes ConfigMap and Indexed Job into --out (as `memorize cluster sweep`)")
  .option(evaluatorFlag, evaluatorHelp)
  .addHelpText(
    'after',
    `
A sweep config is a train config's corpus, model, train and locality sections with layers, variants, eval and
concurrency instead of memory, job and output. Exit status: 0 when every cell succeeded; 1 when the sweep failed
or was cancelled (the report is written all the same, with the cells that finished) or the evaluator does not
answer; 2 for a bad config (one line naming the file and key; nothing is started).
${sweepConfigHelp()}`,
  )
  .action(async (o: { config: string; out?: string; json?: boolean; detach?: boolean; planOnly?: boolean; evaluator?: string }) => {
    if (o.planOnly) {
      if (!o.out) throw new InvalidArgumentError('--out is required with --plan-only: the folder for the ConfigMap and the Job', '--out');
      const { runClusterSweep } = await import('./commands/cluster.js');
      await runClusterSweep(o.config, o.out, { json: o.json }, out);
      return;
    }
    const { runSweep } = await import('./commands/evals.js');
    await runSweep(o, out, err);
  });

const sweepsCmd = program.command('sweeps').description("the evaluator's sweeps: list, show and cancel them");
limitFlag(evaluatorOption(sweepsCmd.command('list').description('sweeps in the store, newest first')), 'sweeps').action(
  async (o: { evaluator?: string; json?: boolean; limit?: string }) => {
    const { sweepsList } = await import('./commands/evals.js');
    await sweepsList({ ...o, limit: listLimit(o.limit) }, out);
  },
);
evaluatorOption(
  sweepsCmd
    .command('show')
    .description("one sweep: state, table, significance and cells (--json: report.json's cells and the record without predictions)"),
)
  .argument('<id>', 'sweep id')
  .action(async (id: string, o: { evaluator?: string; json?: boolean }) => {
    const { sweepsShow } = await import('./commands/evals.js');
    await sweepsShow(id, o, out);
  });
evaluatorOption(sweepsCmd.command('cancel').description('stop a sweep; its running training runs are cancelled'))
  .argument('<id>', 'sweep id')
  .action(async (id: string, o: { evaluator?: string; json?: boolean }) => {
    const { sweepsCancel } = await import('./commands/evals.js');
    await sweepsCancel(id, o, out);
  });

evaluatorOption(
  program
    .command('report')
    .description("write a sweep's report: report.md, report.json, report.html and predictions/<cell>.jsonl")
    .argument('<sweep-id>', 'sweep id')
    .requiredOption('--out <dir>', 'folder for the report files (created; files of an older report are replaced)'),
).action(async (id: string, o: { out: string; evaluator?: string; json?: boolean }) => {
  const { runReport } = await import('./commands/evals.js');
  await runReport(id, o, out, err);
});

program
  .command('demo')
  .description('the research question in miniature: start the stack, run the demo sweep on the embedded model, print the table, stop the stack')
  .option('--fever <dir>', 'real FEVER data instead of the synthetic world: a folder with paper_test.jsonl, wiki-pages.jsonl, page_assignment.jsonl')
  .option('--model <path>', 'a model (HF folder or llama2.c .bin) instead of the embedded models/demo; required with --fever')
  .option('--quick', 'the smallest run through every stage: pretrained and memory stable at one layer, a few steps, 30 claims')
  .option('--config <file>', 'a sweep config instead of configs/demo/sweep.yaml (configs/demo/fever.yaml with --fever)')
  .option('--dir <dir>', "the demo's stack, memories and generated configs [.memorize/demo]")
  .option('--world <dir>', "the synthetic world, generated from the model's recipe.json when missing [.memorize/demo/world]")
  .option('--out <dir>', 'the report folder [<dir>/report]')
  .addHelpText(
    'after',
    `
The world comes from models/demo/recipe.json (or recipe.json beside --model): {"world": {"seed", "set_a", "set_b",
"set_c", "versions", optionally "claims_per_entity" and "heldout_per_entity" as [S, R, N]}}, memorize synth's
options. The stack runs on free ports with --dir as its model and data root (a model or data file outside it is
hard-linked into <dir>/inputs; a full fine-tune writes <dir>/runs), and is stopped at the end, on Ctrl-C, SIGTERM and
SIGHUP, and when the process that started the demo is gone. On the synthetic world the pretrained model is also
evaluated on C claims (the parametric-knowledge ceiling) and A-held-out claims.`,
  )
  .action(async (o: { fever?: string; model?: string; quick?: boolean; config?: string; dir?: string; world?: string; out?: string }) => {
    const { runDemo } = await import('./commands/demo.js');
    await runDemo(o, out, err);
  });

const memoryCmd = program.command('memory').description('inspect, import and evaluate memory files');
memoryCmd
  .command('import')
  .description('turn bare PyTorch-convention weights (up.weight [m,d], up.bias, down.weight [d,m], down.bias, ln.*, gate) into a memory file')
  .requiredOption('--kind <kind>', 'memory kind (only "memory" has a bare PyTorch convention)')
  .requiredOption('--layer <L>', 'block after which the memory adds to the residual stream (0-based)')
  .requiredOption('--weights <file>', 'safetensors with the PyTorch weights')
  .requiredOption('--out <file>', 'memory file to write (atomically)')
  .option('--gelu <variant>', 'erf | tanh', 'erf')
  .option('--model <path>', "record this base model's fingerprint (else any model of matching width accepts it)")
  .option('--json', 'print a JSON summary')
  .action(async (o: { kind: string; layer: string; weights: string; out: string; gelu: 'erf' | 'tanh'; model?: string; json?: boolean }) => {
    const { runMemoryImport } = await import('./commands/memory.js');
    await runMemoryImport(
      { kind: o.kind, layer: integer(o.layer, '--layer'), weights: o.weights, out: o.out, gelu: o.gelu, model: o.model, json: o.json },
      out,
    );
  });
memoryCmd
  .command('loss')
  .description('mean next-token cross-entropy of a text with a memory attached, and optionally its gradient norms')
  .requiredOption('--model <path>', 'HF folder or llama2.c .bin')
  .option('--tokenizer <path>', 'tokenizer (default: beside the model)')
  .requiredOption('--memory <file>', 'memory .safetensors')
  .option('--text <text>', 'text, tokenized with BOS')
  .option('--tokens <ids>', 'comma-separated token ids, used as given (no BOS added)')
  .option('--grad', 'also compute gradient norms of the memory parameters')
  .option('--document <n>', 'document-wise memories: the corpus document whose mask to use')
  .addOption(new Option('--mask-source <source>', 'where a document-wise memory takes its mask').choices(['oracle', 'context', 'all', 'none']))
  .option('--json', 'print one JSON object')
  .action(
    async (o: {
      model: string;
      tokenizer?: string;
      memory: string;
      text?: string;
      tokens?: string;
      grad?: boolean;
      document?: string;
      maskSource?: 'oracle' | 'context' | 'all' | 'none';
      json?: boolean;
    }) => {
      const { runMemoryLoss } = await import('./commands/memory.js');
      await runMemoryLoss({ ...o, document: o.document === undefined ? undefined : integer(o.document, '--document') }, out);
    },
  );
memoryCmd
  .command('inspect')
  .description("print a memory file's metadata and entry-set statistics")
  .argument('<file>', 'memory .safetensors')
  .option('--json', 'print one JSON object')
  .action(async (file: string, o: { json?: boolean }) => {
    const { runMemoryInspect } = await import('./commands/memory.js');
    await runMemoryInspect(file, out, { json: o.json });
  });

registerDeployCommands(program, out, err);

/** The command whose action is running ("data stats"), for its field-to-flag table. */
let running = '';
program.hook('preAction', (_root, action) => {
  const names: string[] = [];
  for (let c: Command | null = action; c && c !== program; c = c.parent) names.unshift(c.name());
  running = names.join(' ');
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed its message (and the help hint) on stderr; --help and --version are not errors.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  if (error instanceof CliFailure) {
    err.write(`memorize: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  if (error instanceof MemorizeError) {
    err.write(`memorize: ${describe(error, flagTables[running] ?? flagTables[running.split(' ')[0]])}\n`);
    process.exit(2);
  }
  err.write(`memorize: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
}
