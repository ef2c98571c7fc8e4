import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MOUD_DEFINITIONS_VERSION, moudDefinitions } from '../../../functions/core/metrics/moud.js';
import {
  NALOXONE_DEFINITIONS_VERSION,
  naloxoneDefinitions,
} from '../../../functions/core/metrics/naloxone.js';

/**
 * The published fingerprint of each definitions version. Changing a definition
 * without bumping its version fails here: add the new version's fingerprint
 * below (and keep the old ones, they are what earlier reports were computed by).
 */
const PUBLISHED: Record<string, string> = {
  'naloxone-1': 'cf54f949da247048',
  'naloxone-2': 'f4bf141c70200b6a',
  'moud-1': 'a227bc6a30befff5',
};

const fingerprint = (definitions: unknown) =>
  createHash('sha256').update(JSON.stringify(definitions)).digest('hex').slice(0, 16);

describe('metric definitions and their versions', () => {
  it('bumps the naloxone definitions version whenever a naloxone definition changes', () => {
    expect(PUBLISHED[NALOXONE_DEFINITIONS_VERSION]).toBe(fingerprint(naloxoneDefinitions));
  });

  it('bumps the MOUD definitions version whenever a MOUD definition changes', () => {
    expect(PUBLISHED[MOUD_DEFINITIONS_VERSION]).toBe(fingerprint(moudDefinitions));
  });
});
