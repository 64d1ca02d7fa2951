/** The report's plots: Vega-Lite specifications rendered to SVG in this process (no browser). */
import type { evaluator } from '@memorize/contracts';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { cellFigures } from './cells.js';

/** A plot of the report: an id (for the HTML anchor), a title, and its spec, or why it has none. */
export interface Plot {
  id: string;
  title: string;
  /** Undefined when the sweep has no data for it. */
  spec: TopLevelSpec | undefined;
  /** Why there is no spec. */
  empty?: string;
}

/** The layers' axis labels in numeric order ("L2" before "L10"), the layer-less cells' label last. */
function layerOrder(sweep: evaluator.Sweep, none: string): string[] {
  const layers = [...new Set(cellFigures(sweep).map((f) => f.cell.layer))].sort((a, b) => a - b);
  return [...layers.filter((l) => l >= 0).map((l) => `L${l}`), ...(layers.some((l) => l < 0) ? [none] : [])];
}

/** The variants in table order: every plot colours a variant the same. */
function variantColor(sweep: evaluator.Sweep) {
  const domain = [...new Set(cellFigures(sweep).map((f) => f.cell.variant))];
  return { field: 'variant', type: 'nominal', title: 'variant', scale: { domain } } as const;
}

const config = { font: 'sans-serif', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 } } as const;

/** Memorization error over training steps, one panel per layer, one line per variant × layer (cell.measures). */
export function memorizationPlot(sweep: evaluator.Sweep): Plot {
  const values = cellFigures(sweep).flatMap((f) =>
    [...f.cell.measures]
      .sort((a, b) => (a.step < b.step ? -1 : a.step > b.step ? 1 : 0))
      .map((m) => ({
        cell: f.label,
        variant: f.cell.variant,
        layer: f.cell.layer < 0 ? 'no layer' : `L${f.cell.layer}`,
        step: Number(m.step),
        memorization_error: m.memorizationError,
      })),
  );
  const title = 'Memorization error over training';
  const color = variantColor(sweep);
  if (values.length === 0) return { id: 'memorization', title, spec: undefined, empty: 'No cell has a training curve (measures).' };
  return {
    id: 'memorization',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config,
      background: 'white',
      data: { values },
      facet: { column: { field: 'layer', type: 'ordinal', title: 'layer', sort: layerOrder(sweep, 'no layer') } },
      spec: {
        width: 300,
        height: 220,
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'training step' },
          y: { field: 'memorization_error', type: 'quantitative', title: 'memorization error (NLL per token)', scale: { zero: false } },
          color,
          detail: { field: 'cell', type: 'nominal' },
          tooltip: [
            { field: 'cell', type: 'nominal' },
            { field: 'step', type: 'quantitative' },
            { field: 'memorization_error', type: 'quantitative', format: '.4f' },
          ],
        },
      },
    },
  };
}

/** Accuracy per layer per variant with its 95% CI as error bars, the pretrained accuracy (and CI) as a rule (band). */
export function accuracyPlot(sweep: evaluator.Sweep): Plot {
  const figures = cellFigures(sweep).filter((f) => f.done);
  const values = figures
    .filter((f) => !f.pretrained)
    .map((f) => ({
      cell: f.label,
      variant: f.cell.variant,
      // The full control's cell has no layer: its point stands at "none", beside the layers.
      layer: f.cell.layer < 0 ? 'none' : `L${f.cell.layer}`,
      accuracy: f.row.accuracy,
      ci_low: f.row.ci_low,
      ci_high: f.row.ci_high,
    }));
  const pretrained = figures.find((f) => f.pretrained);
  const title = 'Accuracy per layer and variant (95% CI; dashed: pretrained)';
  const color = variantColor(sweep);
  if (values.length === 0 && !pretrained) return { id: 'accuracy', title, spec: undefined, empty: 'No cell has been evaluated.' };
  const x = { field: 'layer', type: 'ordinal', title: 'layer', sort: layerOrder(sweep, 'none'), axis: { labelAngle: 0 } } as const;
  const cellLayers: NonNullable<Extract<TopLevelSpec, { layer: unknown }>['layer']> = [];
  if (pretrained) {
    const p = [
      {
        accuracy: pretrained.row.accuracy,
        ci_low: pretrained.row.ci_low,
        ci_high: pretrained.row.ci_high,
        label: `pretrained ${pretrained.row.accuracy?.toFixed(3)}`,
      },
    ];
    cellLayers.push(
      {
        data: { values: p },
        mark: { type: 'rect', color: '#888', opacity: 0.15 },
        encoding: { y: { field: 'ci_low', type: 'quantitative' }, y2: { field: 'ci_high' } },
      },
      {
        data: { values: p },
        mark: { type: 'rule', color: '#444', strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { y: { field: 'accuracy', type: 'quantitative' } },
      },
      {
        data: { values: p },
        mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#444', x: 0 },
        encoding: { y: { field: 'accuracy', type: 'quantitative' }, text: { field: 'label' } },
      },
    );
  }
  if (values.length > 0) {
    cellLayers.push(
      {
        data: { values },
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: {
          x,
          xOffset: { field: 'variant', type: 'nominal' },
          y: { field: 'ci_low', type: 'quantitative' },
          y2: { field: 'ci_high' },
          color,
        },
      },
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          x,
          xOffset: { field: 'variant', type: 'nominal' },
          y: { field: 'accuracy', type: 'quantitative' },
          color,
          tooltip: [
            { field: 'cell', type: 'nominal' },
            { field: 'accuracy', type: 'quantitative', format: '.3f' },
            { field: 'ci_low', type: 'quantitative', format: '.3f' },
            { field: 'ci_high', type: 'quantitative', format: '.3f' },
          ],
        },
      },
    );
  }
  return {
    id: 'accuracy',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config,
      background: 'white',
      width: values.length > 0 ? { step: 90 } : 300,
      height: 260,
      layer: cellLayers,
      resolve: { scale: { y: 'shared' } },
      encoding: { y: { type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } } },
    },
  };
}

/** Accuracy (with its CI) against memorization error, one point per cell (the pretrained one at the base model's error). */
export function accuracyVsMemorizationPlot(sweep: evaluator.Sweep): Plot {
  const values = cellFigures(sweep)
    .filter((f) => f.done && f.row.memorization_error !== null)
    .map((f) => ({
      cell: f.label,
      variant: f.cell.variant,
      layer: f.cell.layer < 0 ? 'none' : `L${f.cell.layer}`,
      accuracy: f.row.accuracy,
      ci_low: f.row.ci_low,
      ci_high: f.row.ci_high,
      memorization_error: f.row.memorization_error,
    }));
  const title = 'Accuracy against memorization error';
  const color = variantColor(sweep);
  if (values.length === 0) return { id: 'accuracy-vs-memorization', title, spec: undefined, empty: 'No evaluated cell has a memorization error.' };
  const xField = { field: 'memorization_error', type: 'quantitative', title: 'memorization error (NLL per token)', scale: { zero: false } } as const;
  return {
    id: 'accuracy-vs-memorization',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config,
      background: 'white',
      width: 420,
      height: 280,
      data: { values },
      layer: [
        {
          mark: { type: 'rule', opacity: 0.6 },
          encoding: { x: xField, y: { field: 'ci_low', type: 'quantitative', title: 'accuracy' }, y2: { field: 'ci_high' }, color },
        },
        {
          mark: { type: 'point', filled: true, size: 80 },
          encoding: {
            x: xField,
            y: { field: 'accuracy', type: 'quantitative', title: 'accuracy' },
            color,
            shape: { field: 'layer', type: 'nominal', title: 'layer', sort: layerOrder(sweep, 'none') },
            tooltip: [
              { field: 'cell', type: 'nominal' },
              { field: 'memorization_error', type: 'quantitative', format: '.4f' },
              { field: 'accuracy', type: 'quantitative', format: '.3f' },
            ],
          },
        },
      ],
    },
  };
}

/** The report's three plots, in order. */
export function sweepPlots(sweep: evaluator.Sweep): Plot[] {
  return [memorizationPlot(sweep), accuracyPlot(sweep), accuracyVsMemorizationPlot(sweep)];
}

/** A Vega-Lite spec compiled to Vega and rendered to an SVG document in this process (no browser, no loader). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
