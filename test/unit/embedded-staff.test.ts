import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addStaff, removeStaff, renewToken, StaffDirectory, StaffError } from '../../lib/embedded/staff.js';

let dir: string;
const roles = { admin: 'role-admin-token', outreach: 'role-outreach-token' };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bridgeway-staff-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the embedded staff directory', () => {
  it('knows a person added while it runs, and forgets one removed', () => {
    // Arrange
    const directory = new StaffDirectory(dir, roles);
    expect(directory.get('anything')).toBeUndefined();

    // Act
    const token = addStaff(dir, 'maria', 'outreach');
    const known = directory.get(token);
    removeStaff(dir, 'maria');
    const afterRemoval = directory.get(token);

    // Assert
    expect(known).toEqual({ username: 'maria', groups: ['outreach'] });
    expect(afterRemoval).toBeUndefined();
  });

  it('stops taking the old token once a new one is given', () => {
    // Arrange
    const directory = new StaffDirectory(dir, roles);
    const old = addStaff(dir, 'lee', 'admin');

    // Act
    const renewed = renewToken(dir, 'lee');

    // Assert
    expect(directory.get(old)).toBeUndefined();
    expect(directory.get(renewed)).toEqual({ username: 'lee', groups: ['admin'] });
  });

  it('keeps the role tokens as the users admin and outreach', () => {
    // Act
    const directory = new StaffDirectory(dir, roles);

    // Assert
    expect(directory.get(roles.admin)).toEqual({ username: 'admin', groups: ['admin'] });
    expect(directory.get(roles.outreach)).toEqual({ username: 'outreach', groups: ['outreach'] });
    expect(directory.list()).toEqual([]);
  });

  it('keeps only a hash of each token, never the token', () => {
    // Act
    const token = addStaff(dir, 'ana', 'outreach');

    // Assert
    const kept = readFileSync(join(dir, 'staff.json'), 'utf8');
    expect(kept).toContain('"username": "ana"');
    expect(kept).not.toContain(token);
  });

  it('refuses the role users’ names, a name twice, an unknown group and names that are not plain', () => {
    // Arrange
    addStaff(dir, 'maria', 'outreach');

    // Act / Assert
    expect(() => addStaff(dir, 'admin', 'admin')).toThrow(StaffError);
    expect(() => addStaff(dir, 'maria', 'admin')).toThrow(/already staff/);
    expect(() => addStaff(dir, 'sam', 'boss')).toThrow(/--group/);
    expect(() => addStaff(dir, 'Sam Smith', 'outreach')).toThrow(/not a username/);
    expect(() => addStaff(dir, '../etc', 'outreach')).toThrow(/not a username/);
  });
});
