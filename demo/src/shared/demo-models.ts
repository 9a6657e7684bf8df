/** The styles the demo server lists at /models/index.json (see demo/serve.mjs), shared by the pages. */

export interface DemoModel {
  id: string;
  url: string;
  style: string;
  architecture?: string;
  training?: string;
  /** The package's default style (what <nst-video> without a model shows). */
  isDefault?: boolean;
}

/** Fetches the list; rejects with a message that says what to check. */
export async function fetchDemoModels(): Promise<DemoModel[]> {
  let response: Response;
  try {
    response = await fetch('/models/index.json');
  } catch (error) {
    throw new Error(`Could not list the styles (${(error as Error).message}). Is the demo server (npm start) running?`, { cause: error });
  }
  if (!response.ok) throw new Error(`Could not list the styles (HTTP ${response.status}). Is the demo server (npm start) running?`);
  return (await response.json()) as DemoModel[];
}

/**
 * Adds one option per style, named by style and architecture; untrained models say so. The
 * package's default style is not repeated: each page's first option (value "") stands for it.
 */
export function addModelOptions(select: HTMLSelectElement, models: readonly DemoModel[]): void {
  for (const model of models.filter((candidate) => !candidate.isDefault)) {
    const untrained = model.training === 'random-init' && !/untrained/i.test(model.style) ? ' — untrained' : '';
    select.add(new Option(`${model.style}${model.architecture ? ` (${model.architecture})` : ''}${untrained}`, model.url));
  }
}
