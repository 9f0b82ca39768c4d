import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyFingerprint, readDeviceJwt, verifyDeviceJwt } from '@bosun/core/device-jwt';
import { describe, expect, it } from 'vitest';
import { deviceJwt, ensureKeyPair, identityPaths, loadIdentity, saveDevice } from '../src/identity.ts';

describe('device identity', () => {
  it('creates an Ed25519 key pair with a 0600 private key and keeps it on later calls', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'bosun-id-'));
    const pem = await ensureKeyPair(stateDir);
    const paths = identityPaths(stateDir);
    expect(statSync(paths.privateKey).mode & 0o777).toBe(0o600);
    expect(pem).toContain('BEGIN PUBLIC KEY');
    expect(await ensureKeyPair(stateDir)).toBe(pem);
  });

  it('signs proof-of-possession JWTs the server verifies against the public key', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'bosun-id-'));
    const pem = await ensureKeyPair(stateDir);
    await saveDevice(stateDir, {
      device_id: 'dvc_test',
      name: 'amr-1',
      server_url: 'http://127.0.0.1:1',
      mqtt: { url: null, topic_prefix: 'bosun/v1/devices/dvc_test/' },
      activated_at: new Date().toISOString(),
    });
    const identity = await loadIdentity(stateDir);
    const now = Math.floor(Date.now() / 1000);
    const jwt = await deviceJwt(identity);
    expect(readDeviceJwt(jwt)).toEqual({ kid: keyFingerprint(pem), sub: 'dvc_test' });
    const claims = await verifyDeviceJwt(jwt, pem, now);
    expect(claims.sub).toBe('dvc_test');
    expect(claims.exp - claims.iat).toBe(120);
    expect((await verifyDeviceJwt(await deviceJwt(identity), pem, now)).jti).not.toBe(claims.jti);
  });

  it('tells the operator to provision when the state dir holds no device', async () => {
    await expect(loadIdentity(mkdtempSync(join(tmpdir(), 'bosun-id-')))).rejects.toThrow(
      /bosun agent provision/,
    );
  });
});
