import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApplyError, FileApplier } from '../src/applier.ts';
import { sha256Digest } from '../src/fsutil.ts';

function setup() {
  const stateDir = mkdtempSync(join(tmpdir(), 'bosun-apply-state-'));
  const root = mkdtempSync(join(tmpdir(), 'bosun-apply-root-'));
  return { stateDir, root, applier: new FileApplier(stateDir, root) };
}
const write = (path: string, text: string) => ({
  path,
  content: Buffer.from(text),
  digest: sha256Digest(text),
});
const read = (root: string, path: string) => readFileSync(join(root, path), 'utf8');

describe('FileApplier', () => {
  it('writes every file, creates directories and records the ledger', async () => {
    const { root, applier } = setup();
    await applier.apply({
      writes: [write('/etc/robot/a.json', '{"a":1}'), write('/srv/bosun/configs/deep/b.yaml', 'b: 2\n')],
      deletes: [],
      ledger: { set: { dpl_1: { '/etc/robot/a.json': sha256Digest('{"a":1}') } } },
    });
    expect(read(root, '/etc/robot/a.json')).toBe('{"a":1}');
    expect(read(root, '/srv/bosun/configs/deep/b.yaml')).toBe('b: 2\n');
    expect(await applier.ledger()).toEqual({ dpl_1: { '/etc/robot/a.json': sha256Digest('{"a":1}') } });
  });

  it('replaces one deployment by another: removes files the new one does not own', async () => {
    const { root, applier } = setup();
    await applier.apply({
      writes: [write('/a', 'old a'), write('/b', 'old b')],
      deletes: [],
      ledger: { set: { d1: {} } },
    });
    await applier.apply({
      writes: [write('/a', 'new a')],
      deletes: ['/a', '/b'],
      ledger: { set: { d2: {} }, remove: ['d1'] },
    });
    expect(read(root, '/a')).toBe('new a');
    expect(existsSync(join(root, 'b'))).toBe(false);
    expect(Object.keys(await applier.ledger())).toEqual(['d2']);
  });

  it('is all-or-nothing: a failing write restores every file already replaced', async () => {
    const { root, stateDir, applier } = setup();
    await applier.apply({
      writes: [write('/etc/a.json', 'A1'), write('/etc/b.json', 'B1')],
      deletes: [],
      ledger: { set: { d1: {} } },
    });
    writeFileSync(join(root, 'blocker'), 'a file, so nothing can be created below it');
    const attempt = applier.apply({
      writes: [write('/etc/a.json', 'A2'), write('/etc/new.json', 'N'), write('/blocker/c.json', 'C')],
      deletes: ['/etc/b.json'],
      ledger: { set: { d2: {} }, remove: ['d1'] },
    });
    await expect(attempt).rejects.toThrow(ApplyError);
    await expect(attempt).rejects.toThrow(
      /cannot create the directory for \/blocker\/c\.json: (EEXIST|ENOTDIR)/,
    );
    expect(read(root, '/etc/a.json')).toBe('A1');
    expect(read(root, '/etc/b.json')).toBe('B1');
    expect(existsSync(join(root, 'etc/new.json'))).toBe(false);
    expect(readdirSync(join(root, 'etc')).sort()).toEqual(['a.json', 'b.json']);
    expect(readdirSync(join(stateDir, 'journal'))).toEqual([]);
    expect(Object.keys(await applier.ledger())).toEqual(['d1']);
  });

  it('checks content digests before writing anything', async () => {
    const { root, applier } = setup();
    const bad = { path: '/x.json', content: Buffer.from('tampered'), digest: sha256Digest('original') };
    await expect(
      applier.apply({ writes: [write('/ok.json', 'ok'), bad], deletes: [], ledger: {} }),
    ).rejects.toThrow(/content for \/x.json has digest sha256:[0-9a-f]{64}, expected/);
    expect(readdirSync(root)).toEqual([]);
  });

  it.each([
    ['relative/path.json', /must be absolute/],
    ['/srv/../etc/shadow', /must be normalised/],
    ['/srv/./x', /must be normalised/],
    ['/srv//x', /empty segments/],
    ['/srv/x/', /trailing/],
  ])('refuses the path %s without touching the disk', async (path, reason) => {
    const { root, applier } = setup();
    await expect(applier.apply({ writes: [write(path, 'x')], deletes: [], ledger: {} })).rejects.toThrow(
      reason,
    );
    expect(readdirSync(root)).toEqual([]);
  });

  it('refuses two files at one path', async () => {
    const { applier } = setup();
    await expect(
      applier.apply({ writes: [write('/a', '1'), write('/a', '2')], deletes: [], ledger: {} }),
    ).rejects.toThrow(/appears twice/);
  });

  it('keeps the mode of a file it replaces', async () => {
    const { root, applier } = setup();
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/secret.yaml'), 'old');
    chmodSync(join(root, 'etc/secret.yaml'), 0o640);
    await applier.apply({ writes: [write('/etc/secret.yaml', 'new')], deletes: [], ledger: {} });
    expect(statSync(join(root, 'etc/secret.yaml')).mode & 0o777).toBe(0o640);
    expect(read(root, '/etc/secret.yaml')).toBe('new');
  });

  it('rolls back a transaction left uncommitted and finishes a committed one', async () => {
    const { root, stateDir } = setup();
    // The step hook throws where a crash would happen: the apply rolls back itself...
    const crashing = new FileApplier(stateDir, root, (step) => {
      if (step === 'commit') throw new Error('power cut');
    });
    await new FileApplier(stateDir, root).apply({
      writes: [write('/a', 'v1')],
      deletes: [],
      ledger: { set: { d1: {} } },
    });
    await expect(
      crashing.apply({ writes: [write('/a', 'v2')], deletes: [], ledger: { set: { d2: {} } } }),
    ).rejects.toThrow('power cut');
    expect(read(root, '/a')).toBe('v1');
    // ...and recovery of an interrupted one is covered by crash.test.ts with real SIGKILLs.
    expect(await new FileApplier(stateDir, root).recover()).toEqual([]);
  });
  describe('symbolic links under a file-system root', () => {
    const outsideDir = () => mkdtempSync(join(tmpdir(), 'bosun-apply-outside-'));

    it('refuses a write through a directory link that leaves the root, touching nothing outside', async () => {
      const { root, applier } = setup();
      const outside = outsideDir();
      symlinkSync(outside, join(root, 'etc'));
      const err = await applier
        .apply({ writes: [write('/etc/robot/a.yaml', 'x')], deletes: [], ledger: { set: { d1: {} } } })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApplyError);
      expect((err as ApplyError).message).toMatch(/outside the agent's file-system root.*'\/etc'/);
      expect(readdirSync(outside)).toEqual([]);
      expect(await applier.ledger()).toEqual({});
    });

    it('refuses a delete through a link that leaves the root: the outside file stays', async () => {
      const { root, applier } = setup();
      await applier.apply({
        writes: [write('/etc/a.yaml', 'mine')],
        deletes: [],
        ledger: { set: { d1: {} } },
      });
      // The directory is swapped for a link to a tree outside holding a file of the same name.
      const outside = outsideDir();
      writeFileSync(join(outside, 'a.yaml'), 'not yours');
      renameSync(join(root, 'etc'), join(root, 'etc.old'));
      symlinkSync(outside, join(root, 'etc'));
      await expect(
        applier.apply({ writes: [], deletes: ['/etc/a.yaml'], ledger: { remove: ['d1'] } }),
      ).rejects.toThrow(/outside the agent's file-system root/);
      expect(readFileSync(join(outside, 'a.yaml'), 'utf8')).toBe('not yours');
    });

    it('refuses a file that is itself a link out of the root, and a dangling link', async () => {
      const { root, applier } = setup();
      const outside = outsideDir();
      writeFileSync(join(outside, 'secret'), 'outside');
      symlinkSync(join(outside, 'secret'), join(root, 'a'));
      symlinkSync(join(outside, 'nowhere'), join(root, 'b'));
      for (const path of ['/a', '/b/c.yaml']) {
        await expect(applier.apply({ writes: [write(path, 'x')], deletes: [], ledger: {} })).rejects.toThrow(
          /outside the agent's file-system root/,
        );
      }
      expect(readdirSync(outside)).toEqual(['secret']);
    });

    it('creates a root that does not exist yet (an install prefix before the first deployment)', async () => {
      const stateDir = mkdtempSync(join(tmpdir(), 'bosun-apply-state-'));
      const root = join(mkdtempSync(join(tmpdir(), 'bosun-apply-parent-')), 'not', 'yet');
      const applier = new FileApplier(stateDir, root);
      await applier.apply({
        writes: [write('/etc/robot/a.json', '{"a":1}')],
        deletes: [],
        ledger: { set: { d1: {} } },
      });
      expect(read(root, '/etc/robot/a.json')).toBe('{"a":1}');
      // Once it exists, the link check runs against it as usual.
      symlinkSync(outsideDir(), join(root, 'srv'));
      await expect(
        applier.apply({ writes: [write('/srv/b.yaml', 'x')], deletes: [], ledger: {} }),
      ).rejects.toThrow(/outside the agent's file-system root/);
    });

    it('follows links that stay inside the root', async () => {
      const { root, applier } = setup();
      mkdirSync(join(root, 'srv/configs'), { recursive: true });
      symlinkSync(join(root, 'srv/configs'), join(root, 'etc'));
      symlinkSync('srv', join(root, 'opt'));
      await applier.apply({
        writes: [write('/etc/a.yaml', 'a'), write('/opt/configs/b.yaml', 'b')],
        deletes: [],
        ledger: {},
      });
      expect(read(root, '/srv/configs/a.yaml')).toBe('a');
      expect(read(root, '/srv/configs/b.yaml')).toBe('b');
    });
  });
});
