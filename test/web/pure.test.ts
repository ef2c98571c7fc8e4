/** The web app's pure parts, in Node: sign-in (PKCE), reading reports and the fleet defensively, ordering tasks. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../web/src/config.js';
import { kioskView, lotsNearExpiry } from '../../web/src/fleet-model.js';
import { definitionOf, dueText, plotted, showCount, showRate } from '../../web/src/format.js';
import {
  authorizeUrl,
  codeChallenge,
  codeVerifier,
  jwtClaims,
  tokenRequestBody,
} from '../../web/src/pkce.js';
import { byUrgency } from '../../web/src/tasks.js';

describe('signing in through the Cognito hosted UI', () => {
  it('derives the S256 code challenge of RFC 7636’s worked example', async () => {
    // Act
    const challenge = await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk');

    // Assert
    expect(challenge).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('draws a verifier of 43 unreserved characters, a new one each time', () => {
    // Act
    const [a, b] = [codeVerifier(), codeVerifier()];

    // Assert
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
  });

  it('asks for an authorization code with the challenge, and trades it with the verifier', () => {
    // Act
    const url = new URL(
      authorizeUrl({
        domain: 'https://bridgeway-prod.auth.us-east-1.amazoncognito.com',
        clientId: 'client-1',
        redirectUri: 'https://d111.cloudfront.net/',
        state: 'state-1',
        challenge: 'challenge-1',
      }),
    );
    const body = new URLSearchParams(
      tokenRequestBody({
        clientId: 'client-1',
        redirectUri: 'https://d111.cloudfront.net/',
        code: 'c',
        verifier: 'v',
      }),
    );

    // Assert
    expect(url.pathname).toBe('/oauth2/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'client-1',
      redirect_uri: 'https://d111.cloudfront.net/',
      scope: 'openid email profile',
      state: 'state-1',
      code_challenge: 'challenge-1',
      code_challenge_method: 'S256',
    });
    expect(Object.fromEntries(body)).toEqual({
      grant_type: 'authorization_code',
      client_id: 'client-1',
      redirect_uri: 'https://d111.cloudfront.net/',
      code: 'c',
      code_verifier: 'v',
    });
  });

  it('reads the groups and expiry of an ID token, and nothing from a token that is not a JWT', () => {
    // Arrange
    const payload = Buffer.from(JSON.stringify({ 'cognito:groups': ['admin'], exp: 1_800_000_000 })).toString(
      'base64url',
    );

    // Act / Assert
    expect(jwtClaims(`h.${payload}.s`)).toEqual({ 'cognito:groups': ['admin'], exp: 1_800_000_000 });
    expect(jwtClaims('stf_not-a-jwt')).toBeUndefined();
  });

  it('signs in with a token unless config.json names a Cognito domain and client', () => {
    expect(parseConfig({})).toEqual({ mode: 'token', apiUrl: '' });
    expect(parseConfig({ mode: 'cognito', apiUrl: 'https://api/prod/' })).toEqual({
      mode: 'token',
      apiUrl: 'https://api/prod',
    });
    expect(
      parseConfig({
        mode: 'cognito',
        apiUrl: 'https://api/prod/',
        cognito: { domain: 'https://d/', clientId: 'c' },
      }),
    ).toEqual({
      mode: 'cognito',
      apiUrl: 'https://api/prod',
      cognito: { domain: 'https://d', clientId: 'c' },
    });
  });
});

describe('reading report figures', () => {
  it('shows a suppressed cell exactly as the API gave it, and never draws it', () => {
    expect(showCount('<11')).toBe('<11');
    expect(showCount(1234)).toBe('1,234');
    expect(showCount(undefined)).toBe('—');
    expect(showRate(0.75)).toBe('75.0 %');
    expect(showRate(null)).toBe('—');
    expect(showRate('<11')).toBe('<11');
    expect(plotted('<11')).toBeNull();
    expect(plotted(12)).toBe(12);
  });

  it('finds a figure’s definition under the first name the report uses, in plain sentences', () => {
    // Arrange
    const definitions = { survivalRate: { numerator: 'survived', denominator: 'survived or died' } };

    // Act / Assert
    expect(definitionOf(definitions, 'nothing', 'survivalRate')).toBe(
      'Counts: survived. Out of: survived or died.',
    );
    expect(definitionOf(undefined, 'survivalRate')).toBeUndefined();
  });

  it('says how far a task is from its due time on the backend clock', () => {
    const now = new Date('2026-11-20T12:00:00Z');
    expect(dueText('2026-11-20T09:00:00Z', now)).toBe('overdue by 3 h');
    expect(dueText('2026-11-23T12:00:00Z', now)).toBe('due in 3 d');
    expect(dueText('2026-11-20T12:10:00Z', now)).toBe('due in 10 min');
  });
});

describe('ordering the work list', () => {
  it('puts urgent tasks first, then the rest by due time', () => {
    // Arrange
    const tasks = [
      { taskId: 'a', kind: 'k', siteId: 's', dueAt: '2026-11-20T10:00:00Z' },
      { taskId: 'b', kind: 'k', siteId: 's', dueAt: '2026-11-21T10:00:00Z', urgent: true },
      { taskId: 'c', kind: 'k', siteId: 's', dueAt: '2026-11-19T10:00:00Z' },
    ];

    // Act / Assert
    expect([...tasks].sort(byUrgency).map((task) => task.taskId)).toEqual(['b', 'c', 'a']);
  });
});

describe('reading the fleet', () => {
  it('takes stock per SKU as counts, as objects with lots, or as a list', () => {
    // Act
    const counts = kioskView({
      kioskId: 'K-1',
      siteId: 's',
      status: 'ok',
      stock: { 'naloxone-nasal-4mg': 12 },
    });
    const lots = kioskView({
      kioskId: 'K-2',
      siteId: 's',
      status: ['low-stock', 'faulted'],
      inventory: {
        'naloxone-nasal-4mg': {
          available: 3,
          quarantined: 2,
          lots: { 'L-1': { quantity: 3, expiresOn: '2026-12-01' } },
        },
      },
      openFaults: ['door_open'],
    });
    const list = kioskView({ kioskId: 'K-3', stock: [{ sku: 'wound-care-kit', quantity: 4 }] });

    // Assert
    expect(counts.stock).toEqual([{ sku: 'naloxone-nasal-4mg', available: 12, lots: [] }]);
    expect(lots.statuses).toEqual(['low-stock', 'faulted', 'quarantined']);
    expect(lots.stock[0]).toEqual({
      sku: 'naloxone-nasal-4mg',
      available: 3,
      quarantined: 2,
      lots: [{ lot: 'L-1', sku: 'naloxone-nasal-4mg', expiresOn: '2026-12-01', quantity: 3 }],
    });
    expect(lots.faults).toEqual(['door_open']);
    expect(list.stock).toEqual([{ sku: 'wound-care-kit', available: 4, quarantined: undefined, lots: [] }]);
    expect(list.statuses).toEqual(['unknown']);
  });

  it('lists the lots that expire within the window, soonest first, once each', () => {
    // Arrange
    const kiosk = kioskView({
      kioskId: 'K-1',
      stock: {
        'naloxone-nasal-4mg': {
          available: 10,
          lots: [
            { lot: 'LATE', expiresOn: '2027-06-01', quantity: 5 },
            { lot: 'SOON', expiresOn: '2026-12-01', quantity: 3 },
            { lot: 'GONE', expiresOn: '2026-11-01', quantity: 2 },
          ],
        },
      },
    });

    // Act
    const near = lotsNearExpiry(kiosk, '2026-11-20', 60, [
      { lot: 'SOON', sku: 'naloxone-nasal-4mg', expiresOn: '2026-12-01' },
    ]);

    // Assert
    expect(near.map((lot) => lot.lot)).toEqual(['GONE', 'SOON']);
  });
});
