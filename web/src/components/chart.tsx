import type { ChartConfiguration } from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

/** Chart.js, loaded once, when the first chart is drawn. */
let engine: Promise<typeof import('./chart-engine')> | undefined;
const chartEngine = () => {
  engine ??= import('./chart-engine');
  return engine;
};

export interface Series {
  readonly label: string;
  /** null: nothing to draw (a suppressed cell, or no denominator); the table shows why. */
  readonly values: readonly (number | null)[];
  readonly color: string;
}

/**
 * A bar chart with its numbers: the canvas is an image with a one-sentence summary for screen
 * readers, and the exact figures (suppressed cells as the API gave them) are in a table below it.
 */
export function BarChart(props: {
  id: string;
  title: string;
  summary: string;
  labels: readonly (string | string[])[];
  series: readonly Series[];
  horizontal?: boolean;
  percent?: boolean;
  table: { headers: readonly string[]; rows: readonly (readonly string[])[] };
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const data = JSON.stringify([props.labels, props.series, props.horizontal, props.percent]);
  useEffect(() => {
    if (!canvas.current) return;
    const valueAxis = {
      beginAtZero: true,
      ticks: {
        precision: props.percent ? undefined : 0,
        callback: props.percent
          ? (value: string | number) => `${Math.round(Number(value) * 100)} %`
          : undefined,
      },
      grid: { color: '#d8dde3' },
    };
    const config: ChartConfiguration<'bar'> = {
      type: 'bar',
      data: {
        labels: props.labels as string[],
        datasets: props.series.map((series) => ({
          label: series.label,
          data: series.values as number[],
          backgroundColor: series.color,
          borderColor: series.color,
        })),
      },
      options: {
        indexAxis: props.horizontal ? 'y' : 'x',
        responsive: true,
        maintainAspectRatio: false,
        // No animation: the chart is drawn at once (and motion helps nobody read a figure).
        animation: false,
        plugins: { legend: { display: props.series.length > 1, labels: { color: '#1f2933' } } },
        scales: props.horizontal
          ? { x: valueAxis, y: { ticks: { color: '#1f2933' }, grid: { display: false } } }
          : { y: valueAxis, x: { ticks: { color: '#1f2933', autoSkip: true }, grid: { display: false } } },
      },
    };
    const target = canvas.current;
    let chart: { destroy(): void } | undefined;
    let gone = false;
    void chartEngine().then(({ Chart }) => {
      if (gone) return;
      chart = new Chart(target, config);
      target.dataset.drawn = 'true';
    });
    return () => {
      gone = true;
      chart?.destroy();
      delete target.dataset.drawn;
    };
  }, [data]);

  return (
    <figure class="chart" aria-labelledby={`${props.id}-title`}>
      <figcaption id={`${props.id}-title`}>{props.title}</figcaption>
      <div class={`chart-box${props.horizontal ? ' horizontal' : ''}`}>
        <canvas ref={canvas} id={props.id} role="img" aria-label={props.summary} />
      </div>
      <details>
        <summary>
          The numbers<span class="visually-hidden"> of {props.title.toLowerCase()}</span>
        </summary>
        <table>
          <thead>
            <tr>
              {props.table.headers.map((header) => (
                <th key={header} scope="col">
                  {header}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {props.table.rows.map((row) => (
              <tr key={row[0]}>
                {row.map((cell, i) =>
                  i === 0 ? (
                    <th key={i} scope="row">
                      {cell}
                    </th>
                  ) : (
                    <td key={i}>{cell}</td>
                  ),
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
