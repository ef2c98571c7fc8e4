/**
 * Issue 11: the staff web app in headless Chromium (Debian's, driven by playwright-core) against the
 * embedded backend, seeded through its API on a manual clock. Every wait is on something a person
 * would see (playwright's auto-waiting locators), never on time; the clock only moves when told.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, tableName } from '../../functions/adapters/dynamo.js';
import { FaultInjector } from '../../lib/embedded/faults.js';
import { type Backend, startBackend } from '../../lib/embedded/runtime.js';
import { buildWeb } from '../../scripts/build-web.js';
import { ADMIN, client, OUTREACH } from '../support/backend.js';
import { type AxeViolation, axe, DESKTOP, launch, newPage, PHONE, screenshot, serious } from './browser.js';
import { CLOCK_START, type Seeded, seedProgram } from './seed.js';

let backend: Backend;
let api: ReturnType<typeof client>;
let browser: Browser;
let seeded: Seeded;
let dataDir: string;
let webRoot: string;
const accessibility: Record<string, AxeViolation[]> = {};
const measured: Record<string, number> = {};
/** No faults unless a test forces one (an outage of DynamoDB, for the pages' failure paths). */
const faults = new FaultInjector({ rate: 0, seed: 1, kinds: [] });

beforeAll(async () => {
  webRoot = mkdtempSync(join(tmpdir(), 'bridgeway-web-'));
  dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-web-data-'));
  const [started, launched] = await Promise.all([
    buildWeb(webRoot).then(() =>
      startBackend({
        dataDir,
        port: 0,
        webRoot,
        env: { ADMIN_TOKEN: ADMIN, OUTREACH_TOKEN: OUTREACH, TIME_SCALE: 'manual', CLOCK_START },
        faults,
        log: () => undefined,
      }),
    ),
    launch(),
  ]);
  backend = started;
  browser = launched;
  api = client(backend.url, dataDir);
  seeded = await seedProgram(api, dataDir);
  await backend.settle();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
  rmSync(webRoot, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  const lines = Object.entries(accessibility).map(
    ([name, violations]) =>
      `  ${name}: ${violations.length} violation(s)${violations.length ? ` (${violations.map((v) => `${v.id}/${v.impact}`).join(', ')})` : ''}`,
  );
  console.log(`axe-core, every page:\n${lines.join('\n')}\nmeasured: ${JSON.stringify(measured)}`);
});

/** axe-core on the page as it is now: kept for the summary, and no serious or critical violation allowed. */
async function accessible(page: Page, name: string): Promise<void> {
  const violations = await axe(page);
  accessibility[name] = violations;
  expect(serious(violations), `${name}: ${JSON.stringify(violations)}`).toEqual([]);
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(backend.url);
  await page.getByLabel('Staff token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in as').waitFor();
}

async function auditEntries(): Promise<Record<string, unknown>[]> {
  return (await documentClient.send(new ScanCommand({ TableName: tableName('audit') }))).Items ?? [];
}

describe('signing in', () => {
  it('takes a staff token, names the person, and says plainly when a token is not known', async () => {
    // Arrange
    const { context, page, problems } = await newPage(browser, backend.url);
    await page.goto(backend.url);
    await page.getByRole('heading', { name: 'Bridgeway staff' }).waitFor();
    await accessible(page, 'sign-in');
    await screenshot(page, 'sign-in');

    // Act
    await page.getByLabel('Staff token').fill('stf_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refusal = await page.getByRole('alert').textContent();
    await page.getByLabel('Staff token').fill(seeded.maria);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Work list' }).waitFor();

    // Assert
    expect(refusal).toContain('not known');
    expect(await page.locator('header').textContent()).toContain('Signed in as maria (outreach)');
    expect(await page.getByRole('navigation', { name: 'Pages' }).getByRole('link').allTextContents()).toEqual(
      ['Work list'],
    );
    expect(problems).toEqual([]);
    await context.close();
  });

  it('renders the work list of a signed-in person (time to first render measured, not asserted)', async () => {
    // Arrange: a tab where maria signed in before
    const { context, page, problems } = await newPage(browser, backend.url);
    const me = { token: seeded.maria, username: 'maria', groups: ['outreach'] };
    await context.addInitScript(
      (session) => sessionStorage.setItem('bridgeway.session', session),
      JSON.stringify(me),
    );

    // Act
    const started = Date.now();
    await page.goto(`${backend.url}/#/tasks`);
    await page.getByRole('list', { name: 'Open tasks' }).getByRole('listitem').first().waitFor();
    measured.firstRenderMs = Date.now() - started;
    const paint = await page.evaluate(
      () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
    );
    if (paint !== null) measured.firstContentfulPaintMs = Math.round(paint);

    // Assert
    expect(
      await page.getByRole('list', { name: 'Open tasks' }).getByRole('listitem').count(),
    ).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('the work list', () => {
  it('offers to try again when the tasks cannot be loaded, and shows them once the server answers', async () => {
    // Arrange: signed in; then DynamoDB fails every query (an outage) until it is over
    const { context, page, problems } = await newPage(browser, backend.url);
    await signIn(page, seeded.maria);
    faults.force('dynamodb-internal', { command: 'Query', times: 1_000 });

    // Act
    await page.reload();
    const failure = page.getByRole('alert').filter({ hasText: 'The tasks could not be loaded' });
    await failure.waitFor();
    const offered = await failure.getByRole('button', { name: 'Try again' }).isVisible();
    faults.clearForced();
    await failure.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('list', { name: 'Open tasks' }).getByRole('listitem').first().waitFor();

    // Assert
    expect(offered).toBe(true);
    expect(await failure.count()).toBe(0);
    expect(problems.filter((problem) => !/status of 503/.test(problem))).toEqual([]);
    await context.close();
  });

  it('lets a person claim a task, find it under mine, open it, complete it, and see it leave the list', async () => {
    // Arrange
    const { context, page, problems } = await newPage(browser, backend.url);
    await signIn(page, seeded.maria);
    await page.getByLabel('Kind').selectOption('kiosk-contact');
    await expect.poll(() => page.url()).toContain('kind=kiosk-contact');
    await page.getByLabel('Site', { exact: true }).fill('site-north');
    await page.getByLabel('Site', { exact: true }).press('Enter');
    const tasks = page.getByRole('list', { name: 'Open tasks' }).getByRole('listitem');
    await expect.poll(() => page.url()).toContain('site=site-north');
    await expect
      .poll(() => tasks.allTextContents())
      .toEqual([expect.stringContaining('Site site-north'), expect.stringContaining('Site site-north')]);
    await accessible(page, 'work list');
    await screenshot(page, 'work-list');

    // Act: claim the first, then only mine
    await tasks
      .first()
      .getByRole('button', { name: /^Claim/ })
      .click();
    await page.getByRole('status').getByText('You hold').waitFor();
    await page.getByLabel('Mine only').check();
    await expect.poll(() => page.url()).toContain('mine=1');
    await expect.poll(() => tasks.count()).toBe(1);
    const mine = await tasks.allTextContents();

    // Act: open it (contact details show, and the read is recorded), complete it
    await tasks.first().getByRole('link').click();
    await page.getByRole('heading', { name: 'Contact', exact: true }).waitFor();
    const contact = await page.locator('.contact').textContent();
    await accessible(page, 'task');
    await screenshot(page, 'task');
    await page.getByLabel('Reached the person').check();
    await page.getByRole('button', { name: 'Complete the task' }).click();
    await page.getByRole('status').getByText('Task completed').waitFor();
    await page.getByText('No open tasks match.').waitFor();

    // Assert
    expect(mine).toHaveLength(1);
    expect(mine[0]).toContain('Held by you');
    expect(contact).toContain('+15555550142');
    expect(contact).toContain('recorded that you read');
    const completed = (await api.allTasks(OUTREACH, 'completed')).filter((t) => t.outcome === 'reached');
    expect(completed).toHaveLength(1);
    const audit = await auditEntries();
    expect(audit.filter((e) => e.actor === 'maria').map((e) => e.action)).toEqual(
      expect.arrayContaining(['claim', 'read-contact']),
    );
    expect(problems).toEqual([]);
    await context.close();
  });

  it('hands a task over to a colleague, who sees it as theirs', async () => {
    // Arrange
    const { context, page, problems } = await newPage(browser, backend.url);
    await signIn(page, seeded.maria);
    await page.goto(`${backend.url}/#/tasks?kind=kiosk-contact&site=site-south`);
    const task = page.getByRole('list', { name: 'Open tasks' }).getByRole('listitem').first();
    await task.waitFor();

    // Act
    await task.getByRole('combobox').selectOption('ana');
    await task.getByRole('button', { name: /^Hand over/ }).click();
    await page.getByRole('status').getByText('to ana').waitFor();
    await task.getByText('Held by ana').waitFor();

    // Assert
    const listed = await api.staff(seeded.ana, 'GET', '/v1/outreach/tasks?status=open&mine=true');
    expect(listed.body.tasks.map((t: { siteId: string }) => t.siteId)).toEqual(['site-south']);
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('a task without consent to outreach', () => {
  it('says not to contact the person, and why, and shows no contact details', async () => {
    // Arrange: an enrollment without outreach consent, and the urgent task its non-fatal overdose opens
    const enrolled = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
      participantRef: 'P-WEB-DNC',
      siteId: 'site-south',
      enrolledOn: '2026-11-18',
      medication: 'methadone',
      overdosesPrior12m: 1,
      consent: { outreach: false, part2: true },
      contact: { phone: '+15555550199' },
    });
    expect(enrolled.status).toBe(201);
    const enrollmentId: string = enrolled.body.enrollmentId;
    const overdose = await api.staff(OUTREACH, 'POST', `/v1/moud/enrollments/${enrollmentId}/events`, {
      eventId: randomUUID(),
      type: 'overdose',
      occurredOn: '2026-11-19',
      fatal: false,
    });
    expect(overdose.status).toBe(201);
    await backend.settle();
    const open = await api.staff(OUTREACH, 'GET', '/v1/outreach/tasks?status=open&siteId=site-south');
    const taskId: string = open.body.tasks.find(
      (t: { enrollmentId?: string }) => t.enrollmentId === enrollmentId,
    ).taskId;
    const { context, page, problems } = await newPage(browser, backend.url);
    await signIn(page, seeded.maria);

    // Act
    await page.goto(`${backend.url}/#/tasks/${taskId}`);
    await page.getByRole('heading', { name: 'Do not contact' }).waitFor();
    const text = await page.getByRole('main').textContent();

    // Assert
    expect(text).toContain('has not consented to outreach');
    expect(text).not.toContain('Phone');
    expect(text).not.toContain('5555550199');
    expect(await page.getByRole('heading', { name: 'Contact', exact: true }).count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('the forbidden view', () => {
  it('tells outreach staff who open the dashboard that it is for administrators, and where to go', async () => {
    // Arrange
    const { context, page, problems } = await newPage(browser, backend.url);
    await signIn(page, seeded.maria);

    // Act
    await page.goto(`${backend.url}/#/dashboard`);
    await page.getByRole('heading', { name: 'You cannot open the dashboard' }).waitFor();
    const message = await page.getByRole('alert').textContent();

    // Assert
    expect(message).toContain('for admin staff');
    expect(message).toContain('maria');
    expect(await page.getByRole('link', { name: 'go to your own page' }).getAttribute('href')).toBe(
      '#/tasks',
    );
    await accessible(page, 'forbidden');
    await screenshot(page, 'forbidden');
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('the dashboard', () => {
  it('draws the charts from the seeded reports, with suppressed cells as the API gives them', async () => {
    // Arrange
    const { context, page, problems } = await newPage(browser, backend.url);
    await signIn(page, seeded.lee);

    // Act: an administrator lands on the dashboard
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    for (const id of ['chart-dispenses', 'chart-kits', 'chart-outcomes', 'chart-retention', 'chart-overdose'])
      await page.locator(`#${id}[data-drawn="true"]`).waitFor();
    const total = Object.values(seeded.dispensesByDay).reduce((sum, n) => sum + n, 0);
    const dispenses = await page.locator('[data-figure="naloxone-dispenseEvents"] .value').textContent();
    const byDay = page.getByRole('figure', { name: 'Dispenses per day' });
    await byDay.getByText('The numbers').click();
    const rows = Object.fromEntries(
      (await byDay.getByRole('row').allTextContents()).map((row) => [row.slice(0, 10), row.slice(10)]),
    );
    const inked = await page.locator('#chart-dispenses').evaluate((canvas: HTMLCanvasElement) => {
      const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) painted += 1;
      return painted;
    });
    await accessible(page, 'dashboard');
    await screenshot(page, 'dashboard');

    // Assert
    expect(dispenses).toBe(String(total));
    expect(rows['2026-11-17']).toBe('14');
    expect(rows['2026-11-19']).toBe('12');
    expect(rows['2026-11-15']).toBe('<11');
    expect(inked).toBeGreaterThan(1000);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('shows each figure’s definition on hover and links it to the CSV it came from', async () => {
    // Arrange
    const { context, page, problems } = await newPage(browser, backend.url);
    await signIn(page, seeded.lee);
    const figure = page.locator('[data-figure="naloxone-survivalRate"]');

    // Act
    await figure.getByText('Survival rate', { exact: true }).hover();
    await figure.getByRole('tooltip').waitFor({ state: 'visible' });
    const definition = await figure.getByRole('tooltip').textContent();
    const link = figure.getByRole('link', { name: /CSV/ });
    const href = await link.getAttribute('href');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const csv = readFileSync((await download.path()) as string, 'utf8');

    // Assert
    expect(definition).toContain('use reports with outcome survived');
    expect(href).toMatch(/\/v1\/reports\/naloxone\?from=2026-10-22&to=2026-11-20&format=csv$/);
    expect(csv.split(/\r?\n/)[0]).toBe('section,key,metric,value');
    expect(csv).toContain('survivalRate');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('shows the outreach section of the reports, each figure with its definition', async () => {
    // Arrange: the seeded program's own outreach figures (few tasks: small cells show as <11)
    const { context, page, problems } = await newPage(browser, backend.url);
    await signIn(page, seeded.lee);

    // Act
    const section = page.getByRole('region', { name: 'Outreach' });
    await section.waitFor();
    const total = section.locator('[data-figure="outreach-moud-opened-total"]');
    const value = await total.locator('.value').textContent();
    const suppressed = await section
      .locator('[data-figure="outreach-moud-outcomes-reached"] .value')
      .textContent();
    await total.getByRole('button').hover();
    const definition = await total.getByRole('tooltip').textContent();

    // Assert
    expect(value).toMatch(/^(<11|\d+)$/);
    expect(suppressed).toMatch(/^(<11|\d+)$/);
    expect(definition?.length).toBeGreaterThan(10);
    expect(await total.getByRole('link', { name: /CSV/ }).getAttribute('href')).toContain(
      '/v1/reports/moud?',
    );
    expect(problems).toEqual([]);
    await context.close();
  });

  it('switches to exact counts on request, says so, and the request is recorded with the person’s name', async () => {
    // Arrange
    const { context, page, problems } = await newPage(browser, backend.url);
    await signIn(page, seeded.lee);
    await page.locator('#chart-dispenses[data-drawn="true"]').waitFor();
    const before = (await auditEntries()).filter((e) => e.action === 'raw-counts').length;

    // Act
    await page.getByLabel('Exact counts (raw)').check();
    await page.getByText('This request was recorded in the audit trail under your name').waitFor();
    const byDay = page.getByRole('figure', { name: 'Dispenses per day' });
    await byDay.getByText('The numbers').click();
    const row = await byDay.getByRole('row', { name: /2026-11-15/ }).textContent();

    // Assert
    expect(row).toBe('2026-11-153');
    const raw = (await auditEntries()).filter((e) => e.action === 'raw-counts');
    expect(raw.length - before).toBe(2); // the naloxone and the MOUD report
    expect(raw.every((entry) => entry.actor === 'lee')).toBe(true);
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('the fleet page', () => {
  it('shows each kiosk’s status, stock, last seen, open faults and lots near expiry, and narrows by status', async () => {
    // Arrange
    const { context, page, problems } = await newPage(browser, backend.url);
    await signIn(page, seeded.lee);

    // Act
    await page.goto(`${backend.url}/#/fleet`);
    const kiosks = page
      .getByRole('list', { name: 'Kiosks' })
      .getByRole('listitem')
      .filter({ has: page.locator('h2') });
    await kiosks.first().waitFor();
    const north = await kiosks.filter({ hasText: 'K-NORTH-1' }).textContent();
    await accessible(page, 'fleet');
    await screenshot(page, 'fleet');
    await page.getByLabel('Condition').selectOption('low-stock');
    await kiosks.filter({ hasText: 'K-NORTH-1' }).waitFor({ state: 'detached' });
    const lowStock = await kiosks.allTextContents();

    // Assert: the seeded fleet, as GET /v1/kiosks derives it
    expect(north).toContain('County Jail Release Lobby');
    expect(north).toContain('naloxone-nasal-4mg');
    expect(north).toMatch(/Last seen (just now|\d+ (min|h) ago)/);
    expect(north).toContain('Faulted');
    expect(north).toContain('Open faults: door_open');
    expect(north).toContain('Lot LOT-A1 (naloxone-nasal-4mg): expires 2026-12-15, 20 units');
    expect(north).not.toContain('LOT-B7');
    expect(lowStock).toHaveLength(1);
    expect(lowStock[0]).toContain('K-SOUTH-1');
    expect(lowStock[0]).toContain('Low stock');
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('on a phone-sized screen', () => {
  it('fits the work list and the dashboard to the screen, with nothing to scroll sideways', async () => {
    // Arrange
    const outreach = await newPage(browser, backend.url, PHONE);
    const admin = await newPage(browser, backend.url, PHONE);
    const overflow = (page: Page) =>
      page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

    // Act
    await signIn(outreach.page, seeded.ana);
    await outreach.page.getByRole('list', { name: 'Open tasks' }).getByRole('listitem').first().waitFor();
    await signIn(admin.page, seeded.lee);
    await admin.page.locator('#chart-dispenses[data-drawn="true"]').waitFor();
    await screenshot(outreach.page, 'work-list-phone');
    await screenshot(admin.page, 'dashboard-phone');

    // Assert
    expect(await overflow(outreach.page)).toBe(0);
    expect(await overflow(admin.page)).toBe(0);
    expect([...outreach.problems, ...admin.problems]).toEqual([]);
    await outreach.context.close();
    await admin.context.close();
  });
});

describe('every page', () => {
  it('was checked with axe-core, with no serious or critical violation', () => {
    // Assert: the pages the tests above opened, each checked where it was ready
    expect(Object.keys(accessibility).sort()).toEqual(
      ['dashboard', 'fleet', 'forbidden', 'sign-in', 'task', 'work list'].sort(),
    );
    for (const [name, violations] of Object.entries(accessibility))
      expect(serious(violations), name).toEqual([]);
  });

  it('loads nothing but its own files and the API (no CDN), at the sizes it is served', async () => {
    // Act
    const index = await fetch(`${backend.url}/`);
    const html = await index.text();

    // Assert
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(DESKTOP.width).toBeGreaterThan(PHONE.width);
  });
});
