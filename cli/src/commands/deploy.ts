/**
 * The commander wiring of `memorize plan` (plan.ts) and `memorize cluster sweep|cell` (cluster.ts); their code is
 * imported when they run.
 */
import { Option, type Command } from 'commander';
import { integerIn } from '../flags.js';
import type { Out } from '../client.js';

export function registerDeployCommands(program: Command, out: Out, err: Out): void {
  program
    .command('plan')
    .description('capacity plan of a model from its config.json alone: weights, activations, KV cache, memory state, GPU and Kubernetes resources')
    .requiredOption('--model <path>', 'HF model folder, its config.json, or a llama2.c .bin (only the header is read)')
    .addOption(new Option('--batch <n>', 'rows per scoring pass and train step (default 4)').argParser((v) => integerIn(v, '--batch', 1, 4096)))
    .addOption(
      new Option('--seq <n>', "tokens per row (default 512, at most the model's context)").argParser((v) => integerIn(v, '--seq', 1, 1 << 20)),
    )
    .addOption(new Option('--memory-entries <m>', 'entries of the memory (default 128)').argParser((v) => integerIn(v, '--memory-entries', 1, 65536)))
    .addOption(new Option('--dtype <t>', 'element type (default float32, what tfjs computes in)').choices(['float32', 'float16']))
    .option('--json', 'print the plan as one JSON object')
    .option('--kustomize', "print the gpu overlay's model-host patch (deploy/k8s/overlays/gpu/model-host-resources.yaml)")
    .action(async (o) => {
      const { runPlan } = await import('./plan.js');
      await runPlan(o, out);
    });

  const cluster = program.command('cluster').description('sweeps on a Kubernetes cluster (an Indexed Job, one cell per index)');
  cluster
    .command('sweep')
    .description('write the ConfigMap and the Indexed Job of a sweep config into --out (kubectl apply -k DIR starts it)')
    .requiredOption('--config <file>', "sweep config (memorize sweep's keys; paths are the pods' paths)")
    .requiredOption('--out <dir>', 'folder for configmap.yaml, job.yaml and kustomization.yaml')
    .option('--sweep-id <id>', 'sweep id and object names (default sweep-<hash of the config>)')
    .option('--namespace <ns>', 'namespace (default memorize)')
    .option('--image <image>', 'image of the cell pods (default memorize/evaluator:0.1.0)')
    .option('--queue <name>', 'Kueue LocalQueue (default memorize)')
    .option('--evaluator <host:port>', 'the evaluator as the pods reach it (default evaluator:50054)')
    .addOption(new Option('--parallelism <n>', 'cells at once (default all)').argParser((v) => integerIn(v, '--parallelism', 1, 10_000)))
    .option('--json', 'print the plan as one JSON object')
    .action(async (o) => {
      const { runClusterSweep } = await import('./cluster.js');
      await runClusterSweep(o.config, o.out, o, out);
    });
  cluster
    .command('cell')
    .description("one pod of a sweep's Indexed Job: StartSweep with cell = $JOB_COMPLETION_INDEX, then wait for the cell to end")
    .requiredOption('--config <file>', 'the mounted sweep config')
    .requiredOption('--sweep-id <id>', 'sweep id')
    .option('--evaluator <host:port>', 'the evaluator (default evaluator:50054)')
    .option('--index <n>', 'cell index (default $JOB_COMPLETION_INDEX)')
    .addOption(
      new Option('--poll-ms <ms>', 'time between two checks of the cell (default 10000)').argParser((v) => integerIn(v, '--poll-ms', 10, 600_000)),
    )
    .action(async (o) => {
      const { runCell } = await import('./cluster.js');
      await runCell(o, out, err);
    });
}
