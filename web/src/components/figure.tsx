/** Where a figure came from: its report's CSV, downloaded with the staff member's token. */
export interface CsvLink {
  readonly href: string;
  readonly report: string;
  onDownload(): void;
}

/**
 * One figure of a report: its value as the API gave it (a suppressed cell stays `<11`), its
 * definition on hover or focus (from the report's own `definitions` block), and a link to the CSV
 * it came from.
 */
export function Figure(props: {
  id: string;
  label: string;
  value: string;
  definition?: string;
  csv?: CsvLink;
  emphasis?: boolean;
}) {
  const definitionId = `${props.id}-definition`;
  return (
    <div class={`figure${props.emphasis ? ' emphasis' : ''}`} data-figure={props.id}>
      <dt>
        {props.definition ? (
          <button type="button" class="term" aria-describedby={definitionId}>
            {props.label}
          </button>
        ) : (
          props.label
        )}
        {props.definition && (
          <span role="tooltip" id={definitionId} class="definition">
            {props.definition}
          </span>
        )}
      </dt>
      <dd>
        <span class="value">{props.value}</span>
        {props.csv && (
          <a
            class="csv"
            href={props.csv.href}
            onClick={(event) => {
              event.preventDefault();
              props.csv?.onDownload();
            }}
          >
            CSV
            <span class="visually-hidden">
              {' '}
              of the {props.csv.report} report ({props.label})
            </span>
          </a>
        )}
      </dd>
    </div>
  );
}
