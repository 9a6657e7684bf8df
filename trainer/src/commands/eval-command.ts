/** `nst eval`: prints a model's mean style and content loss on a folder of photos, as JSON. */
import { loadStyleModelFromDisk } from '../model-files.js';
import { selectNodeBackend, type NodeBackendPreference } from '../node-backend.js';
import { evaluateModel, type EvaluateOptions } from '../training/evaluate.js';
import { resolveVggPath } from '../training/vgg.js';

/** What evaluateModel takes, with the model to load and where to run it; `vgg` defaults to the project's copy. */
export interface EvalCommandOptions extends Omit<EvaluateOptions, 'vgg'> {
  model: string;
  vgg?: string;
  backend: NodeBackendPreference;
  /** wasm threads (see wasm-threads.ts). */
  threads: number;
}

export async function runEval(options: EvalCommandOptions): Promise<void> {
  const vgg = resolveVggPath(options.vgg);
  const choice = await selectNodeBackend(options.backend, { threads: options.threads });
  const model = await loadStyleModelFromDisk(options.model);
  try {
    const started = performance.now();
    const result = await evaluateModel(model, { ...options, vgg });
    const training = model.metadata.training as { weights?: { content?: number; style?: number } };
    const weighted =
      training.weights?.content !== undefined && training.weights?.style !== undefined
        ? { weightedStyleLoss: result.styleLoss * training.weights.style, weightedContentLoss: result.contentLoss * training.weights.content, trainingWeights: training.weights }
        : {};
    const report = {
      model: options.model,
      style: options.style,
      content: options.content,
      styleName: model.styleName,
      ...result,
      ...weighted,
      backend: choice.backend,
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    model.dispose();
  }
}
