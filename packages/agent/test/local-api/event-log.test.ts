import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventLog } from '../../src/local-api/event-log.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'bosun-events-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('EventLog', () => {
  it('assigns increasing ids that survive a reopen', () => {
    const dir = tempDir();
    const a = new EventLog(dir);
    expect(a.append('deployment.deployed', { deployment_id: 'dpl_1' }).id).toBe(1);
    expect(a.append('deployment.removed', { deployment_id: 'dpl_1' }).id).toBe(2);
    a.close();
    const b = new EventLog(dir);
    expect(b.newestId).toBe(2);
    expect(b.append('deployment.deployed', { deployment_id: 'dpl_2' }).id).toBe(3);
    expect(b.since(0).map((e) => e.id)).toEqual([1, 2, 3]);
    b.close();
  });

  it('writes each event as one JSON line before returning', () => {
    const dir = tempDir();
    const log = new EventLog(dir);
    log.append('deployment.deployed', { deployment_id: 'dpl_1' });
    const lines = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ object: 'event', id: 1, type: 'deployment.deployed' });
    log.close();
  });

  it('skips a line torn by a crash and continues after the highest good id', () => {
    const dir = tempDir();
    const log = new EventLog(dir);
    log.append('deployment.deployed', {});
    log.close();
    appendFileSync(join(dir, 'events.jsonl'), '{"object":"event","id":2,"ty');
    const again = new EventLog(dir);
    expect(again.since(0).map((e) => e.id)).toEqual([1]);
    expect(again.append('deployment.removed', {}).id).toBe(2);
    again.close();
  });

  it('compacts to the newest events, keeps ids, and expires older cursors', () => {
    const dir = tempDir();
    const log = new EventLog(dir, { retain: 10, compactTo: 8 });
    for (let i = 0; i < 11; i++) log.append('deployment.deployed', { i });
    expect(log.since(0).map((e) => e.id)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(log.isExpired(0)).toBe(false);
    expect(log.isExpired(3)).toBe(false);
    expect(log.isExpired(2)).toBe(true);
    log.close();
    const reopened = new EventLog(dir, { retain: 10, compactTo: 8 });
    expect(reopened.since(0)[0]!.id).toBe(4);
    expect(reopened.isExpired(2)).toBe(true);
    expect(reopened.append('deployment.removed', {}).id).toBe(12);
    reopened.close();
  });

  it('filters by type', () => {
    const log = new EventLog(tempDir());
    log.append('deployment.deployed', {});
    log.append('deployment.removed', {});
    expect(log.since(0, ['deployment.removed']).map((e) => e.type)).toEqual(['deployment.removed']);
    log.close();
  });
});
