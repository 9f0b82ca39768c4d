import { resolveServerConfig } from '@bosun/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../../../test/support/tls-certs.ts';

/** BOSUN_TLS_CERT_FILE/BOSUN_TLS_KEY_FILE: both or neither, read and checked before anything listens. */
describe('HTTPS configuration', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki?.destroy());

  it('unset: plain HTTP; both set: the PEM certificate and key', () => {
    expect(resolveServerConfig({}, {}).tls).toBeUndefined();
    const c = resolveServerConfig({}, { BOSUN_TLS_CERT_FILE: pki.certFile, BOSUN_TLS_KEY_FILE: pki.keyFile });
    expect(c.tls?.cert).toContain('BEGIN CERTIFICATE');
    expect(c.tls?.key).toContain('PRIVATE KEY');
  });

  it('one without the other, a missing file or swapped files are clear errors', () => {
    expect(() => resolveServerConfig({}, { BOSUN_TLS_CERT_FILE: pki.certFile })).toThrow(
      /needs both BOSUN_TLS_CERT_FILE .* and BOSUN_TLS_KEY_FILE/,
    );
    expect(() => resolveServerConfig({}, { BOSUN_TLS_KEY_FILE: pki.keyFile })).toThrow(/needs both/);
    expect(() =>
      resolveServerConfig(
        {},
        { BOSUN_TLS_CERT_FILE: `${pki.dir}/nope.crt`, BOSUN_TLS_KEY_FILE: pki.keyFile },
      ),
    ).toThrow(`BOSUN_TLS_CERT_FILE: cannot read ${pki.dir}/nope.crt`);
    expect(() =>
      resolveServerConfig({}, { BOSUN_TLS_CERT_FILE: pki.keyFile, BOSUN_TLS_KEY_FILE: pki.certFile }),
    ).toThrow(`BOSUN_TLS_CERT_FILE: ${pki.keyFile} is not a PEM file of the expected kind`);
  });

  it('the key is never in the error text', () => {
    try {
      resolveServerConfig({}, { BOSUN_TLS_CERT_FILE: pki.keyFile, BOSUN_TLS_KEY_FILE: pki.keyFile });
      expect.unreachable();
    } catch (err) {
      expect(String(err)).not.toContain('PRIVATE KEY');
    }
  });
});
