/**
 * A reference kiosk client: `npm run kiosk -- <command>`. For kiosk vendors, the part that
 * matters is the first screenful: how a request is signed and sent. The rest is a command line.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Signs the exact bytes that will be sent: HMAC-SHA256(secret, "<unix seconds>.<body>"), lowercase hex. */
export function signedHeaders(kioskId: string, secret: string, body: string, now = Date.now()) {
  const timestamp = String(Math.floor(now / 1000)); // checked against real time, ±300 s
  const signature = createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${timestamp}.${body}`)
    .digest('hex');
  return {
    'content-type': 'application/json',
    'x-kiosk-id': kioskId,
    'x-kiosk-timestamp': timestamp,
    'x-kiosk-signature': signature,
  };
}

/** One event, one request. Retry a 503 or a network error with the same body (same eventId): never a new id. */
export async function sendEvent(url: string, kioskId: string, secret: string, event: object) {
  const body = JSON.stringify(event); // serialise once; sign and send these bytes
  for (let attempt = 1; ; attempt += 1) {
    try {
      const res = await fetch(`${url}/v1/kiosk/events`, {
        method: 'POST',
        headers: signedHeaders(kioskId, secret, body), // a fresh timestamp for each attempt
        body,
      });
      if (res.status !== 503 || attempt === 5) return { status: res.status, body: await res.json() };
    } catch (error) {
      if (attempt === 5) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 2 ** attempt * 100));
  }
}

// ---------------------------------------------------------------------------------------------
// The command line around it.
// ---------------------------------------------------------------------------------------------

const USAGE = `usage: npm run kiosk -- <command> [options]

  register <kioskId> --site SITE [--threshold 5] [--stock naloxone-nasal-4mg=40,...]
                      register a kiosk (needs ADMIN_TOKEN); prints its secret once, as export lines
  dispense --sku SKU [--quantity 1] [--phone +15555550123 --topic treatment]
  restock  --sku SKU --quantity 20 [--lot L-1 --expires 2027-06-30]
  fault    --code door_open|vend_failure|temperature|offline|other [--detail TEXT] [--temperature C]
  heartbeat [--temperature 21.5]   "alive", with the cabinet temperature if the kiosk has a sensor
  send '<json event>'  sign and send any event body as it is

options (or environment):
  --url URL           the backend (BRIDGEWAY_URL, else http://127.0.0.1:$PORT, PORT default 3000)
  --kiosk ID          the kiosk (KIOSK_ID)
  --secret S          its secret (KIOSK_SECRET)
  --event-id UUID     choose the eventId (a retry must resend the same body: \`send\` it again for 200 duplicate)
  --print             print the signed request as a curl command instead of sending it

example:
  eval "$(npm run -s tokens)"
  eval "$(npm run -s kiosk -- register K-0001 --site site-7 --stock naloxone-nasal-4mg=40)"
  npm run kiosk -- dispense --sku naloxone-nasal-4mg`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const { parseArgs } = await import('node:util');
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      kiosk: { type: 'string' },
      secret: { type: 'string' },
      site: { type: 'string' },
      threshold: { type: 'string', default: '5' },
      stock: { type: 'string' },
      sku: { type: 'string' },
      quantity: { type: 'string', default: '1' },
      phone: { type: 'string' },
      topic: { type: 'string', default: 'treatment' },
      lot: { type: 'string' },
      expires: { type: 'string' },
      code: { type: 'string' },
      detail: { type: 'string' },
      temperature: { type: 'string' },
      'event-id': { type: 'string' },
      print: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, argument] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(values.help ? 0 : 2);
  }
  const env = process.env;
  const url = (values.url ?? env.BRIDGEWAY_URL ?? `http://127.0.0.1:${env.PORT || 3000}`).replace(/\/$/, '');

  if (command === 'register') {
    if (!argument || !values.site) fail('register needs a kiosk id and --site');
    if (!env.ADMIN_TOKEN) fail('register needs ADMIN_TOKEN (eval "$(npm run -s tokens)")');
    const inventory = Object.fromEntries(
      (values.stock ?? '')
        .split(',')
        .filter(Boolean)
        .map((pair) => {
          const [sku, count] = pair.split('=');
          return [sku, Number(count)];
        }),
    );
    const res = await fetch(`${url}/v1/kiosks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        kioskId: argument,
        siteId: values.site,
        lowStockThreshold: Number(values.threshold),
        inventory,
      }),
    });
    const answer = (await res.json()) as { secret?: string };
    if (res.status !== 201) fail(`${res.status} ${JSON.stringify(answer)}`);
    process.stderr.write(`registered ${argument}; its secret is shown this once\n`);
    process.stdout.write(`export KIOSK_ID=${argument}\nexport KIOSK_SECRET=${answer.secret}\n`);
    return;
  }

  const kioskId = values.kiosk ?? env.KIOSK_ID;
  const secret = values.secret ?? env.KIOSK_SECRET;
  if (!kioskId || !secret) fail('needs --kiosk and --secret (or KIOSK_ID and KIOSK_SECRET)');
  const base = {
    eventId: values['event-id'] ?? randomUUID(),
    occurredAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  let event: object;
  if (command === 'send') {
    if (!argument) fail("send needs a JSON body: npm run kiosk -- send '{...}'");
    event = JSON.parse(argument) as object;
  } else if (command === 'dispense' || command === 'restock') {
    if (!values.sku) fail(`${command} needs --sku`);
    event = {
      ...base,
      type: command,
      items: [{ sku: values.sku, quantity: Number(values.quantity) }],
      ...(command === 'dispense' && values.phone
        ? { contactRequest: { phone: values.phone, topic: values.topic } }
        : {}),
      // The lot and its expiry on the item (contract: Kiosk fleet), so stock is kept per lot.
      ...(command === 'restock' && values.lot
        ? {
            items: [
              {
                sku: values.sku,
                quantity: Number(values.quantity),
                lot: values.lot,
                ...(values.expires ? { expiresOn: values.expires } : {}),
              },
            ],
          }
        : {}),
    };
  } else if (command === 'fault') {
    if (!values.code) fail('fault needs --code');
    event = {
      ...base,
      type: 'fault',
      code: values.code,
      ...(values.detail ? { detail: values.detail } : {}),
      ...(values.temperature !== undefined ? { temperatureC: Number(values.temperature) } : {}),
    };
  } else if (command === 'heartbeat') {
    event = {
      ...base,
      type: 'heartbeat',
      ...(values.temperature !== undefined ? { temperatureC: Number(values.temperature) } : {}),
    };
  } else {
    fail(`unknown command ${command}`);
  }

  if (values.print) {
    const body = JSON.stringify(event);
    const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
    const headers = Object.entries(signedHeaders(kioskId, secret, body))
      .map(([name, value]) => `-H ${quote(`${name}: ${value}`)}`)
      .join(' ');
    process.stdout.write(`curl -s -X POST ${url}/v1/kiosk/events ${headers} --data-binary ${quote(body)}\n`);
    return;
  }
  const answer = await sendEvent(url, kioskId, secret, event);
  process.stdout.write(`${answer.status} ${JSON.stringify(answer.body)}\n`);
  process.exitCode = answer.status < 300 ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  await main(process.argv.slice(2)).catch((error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
