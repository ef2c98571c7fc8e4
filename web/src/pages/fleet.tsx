import { Failure } from '../components/status';
import { useApp } from '../context';
import { type KioskView, kioskView, lotsNearExpiry, STATUS_LABELS } from '../fleet-model';
import { agoText, dayOf, showCount } from '../format';
import { navigate, type Route } from '../router';
import { isForbidden, useLoad } from '../use-load';
import { Forbidden } from './forbidden';

const NEAR_EXPIRY_DAYS = 60;
const STATUSES = [
  'offline',
  'faulted',
  'quarantined',
  'expired-stock',
  'low-stock',
  'expiring-stock',
  'ok',
] as const;

interface KioskPage {
  readonly asOf?: string;
  readonly kiosks?: unknown[];
  readonly next?: string;
}

/** The kiosk fleet (admin): status, stock, last seen, open faults and lots near expiry, every page of it. */
export function Fleet({ route }: { route: Route }) {
  const { api } = useApp();
  const only = route.query.get('status') ?? '';
  const [load, reload] = useLoad(async () => {
    const health = await api.get<{ now?: string }>('/health');
    const kiosks: { view: KioskView; raw: Record<string, unknown> }[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const page = await api.get<KioskPage>(
        `/v1/kiosks?limit=100${next ? `&next=${encodeURIComponent(next)}` : ''}`,
      );
      for (const kiosk of page.kiosks ?? [])
        kiosks.push({ view: kioskView(kiosk), raw: kiosk as Record<string, unknown> });
      next = page.next;
      pages += 1;
    } while (next && pages < 50);
    return { kiosks, now: new Date(health.now ?? Date.now()) };
  }, 'fleet');

  if (load.state === 'failed' && isForbidden(load.error)) return <Forbidden page="Fleet" need={['admin']} />;
  const kiosks =
    load.state === 'ready'
      ? load.value.kiosks.filter(({ view }) => !only || view.statuses.includes(only))
      : [];
  const counts = Object.fromEntries(
    STATUSES.map((status) => [
      status,
      load.state === 'ready'
        ? load.value.kiosks.filter(({ view }) => view.statuses.includes(status)).length
        : 0,
    ]),
  );

  return (
    <section aria-labelledby="fleet-title">
      <h1 id="fleet-title">Fleet</h1>
      <form class="filters" aria-label="Filter the kiosks" onSubmit={(event) => event.preventDefault()}>
        <div class="field">
          <label for="fleet-status">Condition</label>
          <select
            id="fleet-status"
            value={only}
            onChange={(event) =>
              navigate('/fleet', { status: (event.target as HTMLSelectElement).value || undefined })
            }
          >
            <option value="">every kiosk</option>
            {STATUSES.map((status) => (
              <option key={status} value={status}>
                {STATUS_LABELS[status]} ({counts[status]})
              </option>
            ))}
          </select>
        </div>
      </form>
      {load.state === 'loading' && <p class="loading">Loading the fleet…</p>}
      {load.state === 'failed' && <Failure error={load.error} what="The kiosks" retry={reload} />}
      {load.state === 'ready' && kiosks.length === 0 && <p class="empty">No kiosk matches.</p>}
      {load.state === 'ready' && kiosks.length > 0 && (
        <ul class="kiosks" aria-label="Kiosks">
          {kiosks.map(({ view, raw }) => (
            <KioskCard key={view.kioskId} kiosk={view} raw={raw} now={load.value.now} />
          ))}
        </ul>
      )}
    </section>
  );
}

function KioskCard({ kiosk, raw, now }: { kiosk: KioskView; raw: Record<string, unknown>; now: Date }) {
  const near = lotsNearExpiry(kiosk, dayOf(now), NEAR_EXPIRY_DAYS, raw.lotsNearExpiry ?? raw.nearExpiry);
  const titleId = `kiosk-${kiosk.kioskId}`;
  return (
    <li class="kiosk" aria-labelledby={titleId}>
      <div class="task-head">
        <h2 id={titleId}>
          {kiosk.kioskId}
          <span class="site"> · {kiosk.siteName ?? kiosk.siteId}</span>
        </h2>
        <span class="badges">
          {kiosk.statuses.map((status) => (
            <span key={status} class={`badge status-${status}`}>
              {STATUS_LABELS[status] ?? status}
            </span>
          ))}
        </span>
      </div>
      <p class="meta">
        <span>Site {kiosk.siteId}</span>
        <span>
          Last seen{' '}
          {kiosk.lastSeenAt ? (
            <time dateTime={kiosk.lastSeenAt}>{agoText(kiosk.lastSeenAt, now)}</time>
          ) : (
            'never'
          )}
        </span>
        {kiosk.offlineSince && (
          <span>
            Offline since <time dateTime={kiosk.offlineSince}>{agoText(kiosk.offlineSince, now)}</time>
          </span>
        )}
        <span>{kiosk.faults.length ? `Open faults: ${kiosk.faults.join(', ')}` : 'No open faults'}</span>
        {kiosk.lastTemperatureC !== undefined && <span>Last temperature {kiosk.lastTemperatureC} °C</span>}
      </p>
      {kiosk.stock.length > 0 && (
        <table class="stock">
          <caption class="visually-hidden">Stock at {kiosk.kioskId}</caption>
          <thead>
            <tr>
              <th scope="col">SKU</th>
              <th scope="col">Available</th>
              <th scope="col">Quarantined</th>
            </tr>
          </thead>
          <tbody>
            {kiosk.stock.map((item) => (
              <tr key={item.sku}>
                <th scope="row">
                  {item.sku}
                  {item.lowStock && <span class="badge status-low-stock">low</span>}
                </th>
                <td>{showCount(item.available)}</td>
                <td>{item.quarantined ? showCount(item.quarantined) : '0'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {near.length > 0 && (
        <div class="expiry">
          <h3>Lots expired or near expiry</h3>
          <ul>
            {near.map((lot) => (
              <li key={`${lot.sku}-${lot.lot}`}>
                Lot {lot.lot}
                {lot.sku ? ` (${lot.sku})` : ''}: expires{' '}
                <time dateTime={lot.expiresOn}>{lot.expiresOn}</time>
                {lot.quantity !== undefined ? `, ${lot.quantity} units` : ''}
              </li>
            ))}
          </ul>
        </div>
      )}
    </li>
  );
}
