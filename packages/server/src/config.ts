import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { type GitHostMap, parseGitHostMap } from '@bosun/core';
import { safeServerUrl } from './downloads/install-script.ts';
import type { BrokerAuth } from './mqtt/index.ts';

export interface ServerConfig {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  logLevel: string;
  bootstrapApiKey: string | undefined;
  /** External MQTT broker (`BOSUN_MQTT_URL`); unset embeds one. */
  mqttUrl?: string | undefined;
  /** Broker URL handed to devices when it differs from the server's (`BOSUN_MQTT_PUBLIC_URL`). */
  mqttPublicUrl?: string | undefined;
  /** Plain TCP port of the embedded broker (`--mqtt-port`); WebSocket `/mqtt` is always served. */
  mqttPort?: number | undefined;
  /** How devices authenticate to the external broker (`BOSUN_MQTT_AUTH`: none, dynsec, http). */
  mqttAuth?: BrokerAuth | undefined;
  /** The credential brokers present to the HTTP auth endpoint (`BOSUN_BROKER_AUTH_SECRET`). */
  brokerAuthSecret?: string | undefined;
  /** Self-hosted git servers and their forge (`BOSUN_GIT_HOSTS=git.acme.internal=gitlab,...`). */
  gitHosts?: GitHostMap | undefined;
  /** Roll failed upgrades back automatically (`BOSUN_AUTO_ROLLBACK`, default on; `0`/`false` turns it off). */
  autoRollback?: boolean | undefined;
  /** Largest request body in bytes (`BOSUN_BODY_LIMIT_BYTES`); default LIMITS.bodyBytes. */
  bodyLimitBytes?: number | undefined;
  /** Where `/downloads/*` serves the agent artifacts from (`BOSUN_ARTIFACTS_DIR`). */
  artifactsDir?: string | undefined;
  /** The URL robots reach this server at, written into `/install.sh` (`BOSUN_PUBLIC_URL`). */
  publicUrl?: string | undefined;
  /**
   * Reverse proxies whose X-Forwarded-Proto/-For are believed (`BOSUN_TRUST_PROXY`: addresses or
   * CIDRs, comma-separated). Behind a TLS-terminating proxy this is what makes the dashboard's
   * session cookie `Secure` (docs/decisions.md #83). Unset: no forwarded header is trusted.
   */
  trustProxy?: string[] | undefined;
  /** Serve HTTPS (and the embedded broker's WebSocket as wss) with this PEM certificate chain and key. */
  tls?: { cert: string; key: string } | undefined;
}

/** Flags win over environment variables, which win over the embedded defaults. */
export function resolveServerConfig(
  flags: {
    port?: string | number;
    host?: string;
    dataDir?: string;
    logLevel?: string;
    mqttPort?: string | number;
  },
  env: NodeJS.ProcessEnv = process.env,
): ServerConfig {
  const portText = String(flags.port ?? env.BOSUN_PORT ?? '8080');
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`port must be an integer between 0 and 65535, got '${portText}'`);
  }
  const mqttPortText = flags.mqttPort ?? env.BOSUN_MQTT_PORT;
  const mqttPort = mqttPortText === undefined || mqttPortText === '' ? undefined : Number(mqttPortText);
  if (mqttPort !== undefined && (!Number.isInteger(mqttPort) || mqttPort < 0 || mqttPort > 65535)) {
    throw new Error(`mqtt port must be an integer between 0 and 65535, got '${mqttPortText}'`);
  }
  const mqttUrl = env.BOSUN_MQTT_URL || undefined;
  if (mqttUrl && !/^(mqtts?|wss?|tcp|ssl):\/\//.test(mqttUrl)) {
    throw new Error(`BOSUN_MQTT_URL must be an mqtt://, mqtts://, ws:// or wss:// URL`);
  }
  if (mqttUrl && mqttPort !== undefined) {
    throw new Error(
      '--mqtt-port (BOSUN_MQTT_PORT) is for the embedded broker; it cannot be used with BOSUN_MQTT_URL',
    );
  }
  const mqttAuth = (env.BOSUN_MQTT_AUTH || undefined) as BrokerAuth | undefined;
  if (mqttAuth !== undefined && !['none', 'dynsec', 'http'].includes(mqttAuth))
    throw new Error(`BOSUN_MQTT_AUTH must be none, dynsec or http, got '${mqttAuth}'`);
  if (mqttAuth !== undefined && mqttAuth !== 'none' && !mqttUrl)
    throw new Error('BOSUN_MQTT_AUTH is for an external broker; set BOSUN_MQTT_URL too');
  if ((mqttAuth === 'dynsec' || mqttAuth === 'http') && mqttUrl) {
    const u = new URL(mqttUrl);
    if (!u.username || !u.password)
      throw new Error(
        `BOSUN_MQTT_AUTH=${mqttAuth} needs the server's broker account in BOSUN_MQTT_URL (mqtt://user:password@host:port)`,
      );
  }
  const brokerAuthSecret = env.BOSUN_BROKER_AUTH_SECRET || undefined;
  if (mqttAuth === 'http' && (brokerAuthSecret ?? '').split(',').some((secret) => secret.length < 20))
    throw new Error(
      'BOSUN_MQTT_AUTH=http needs BOSUN_BROKER_AUTH_SECRET (at least 20 characters; several comma-separated while rotating): the credential the broker presents to the auth endpoint',
    );
  const bodyLimitText = env.BOSUN_BODY_LIMIT_BYTES;
  const bodyLimitBytes = bodyLimitText ? Number(bodyLimitText) : undefined;
  if (bodyLimitBytes !== undefined && (!Number.isInteger(bodyLimitBytes) || bodyLimitBytes < 1024)) {
    throw new Error(`BOSUN_BODY_LIMIT_BYTES must be an integer of at least 1024, got '${bodyLimitText}'`);
  }
  const publicUrlText = env.BOSUN_PUBLIC_URL || undefined;
  const publicUrl = publicUrlText === undefined ? undefined : safeServerUrl(publicUrlText);
  if (publicUrlText !== undefined && !publicUrl) {
    throw new Error(
      `BOSUN_PUBLIC_URL must be an http:// or https:// URL without credentials, query or fragment, got '${publicUrlText}'`,
    );
  }
  const trustProxy = parseTrustProxy(env.BOSUN_TRUST_PROXY);
  const tls = readTls(env.BOSUN_TLS_CERT_FILE || undefined, env.BOSUN_TLS_KEY_FILE || undefined);
  return {
    port,
    host: flags.host ?? env.BOSUN_HOST ?? '127.0.0.1',
    dataDir: resolve(flags.dataDir ?? env.BOSUN_DATA_DIR ?? '.bosun'),
    databaseUrl: env.BOSUN_DATABASE_URL || undefined,
    logLevel: flags.logLevel ?? env.BOSUN_LOG_LEVEL ?? 'info',
    bootstrapApiKey: env.BOSUN_BOOTSTRAP_API_KEY || undefined,
    mqttUrl,
    mqttPublicUrl: env.BOSUN_MQTT_PUBLIC_URL || undefined,
    mqttPort,
    mqttAuth,
    brokerAuthSecret,
    gitHosts: parseGitHostMap(env.BOSUN_GIT_HOSTS),
    autoRollback: parseSwitch('BOSUN_AUTO_ROLLBACK', env.BOSUN_AUTO_ROLLBACK, true),
    bodyLimitBytes,
    artifactsDir: env.BOSUN_ARTIFACTS_DIR ? resolve(env.BOSUN_ARTIFACTS_DIR) : undefined,
    publicUrl,
    trustProxy,
    tls,
  };
}

/** Both files or neither; read at start-up so a wrong path stops the server before it listens. */
function readTls(certFile: string | undefined, keyFile: string | undefined): ServerConfig['tls'] {
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile)
    throw new Error('HTTPS needs both BOSUN_TLS_CERT_FILE (PEM certificate chain) and BOSUN_TLS_KEY_FILE');
  const read = (name: string, path: string, marker: RegExp) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`${name}: cannot read ${path}: ${(err as Error).message}`);
    }
    if (!marker.test(text)) throw new Error(`${name}: ${path} is not a PEM file of the expected kind`);
    return text;
  };
  return {
    cert: read('BOSUN_TLS_CERT_FILE', certFile, /-----BEGIN CERTIFICATE-----/),
    key: read('BOSUN_TLS_KEY_FILE', keyFile, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
  };
}

/** `10.0.0.1, 192.168.0.0/16, ::1` → addresses/CIDRs; anything else is a start-up error, not a silent no. */
function parseTrustProxy(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const items = text.split(',').map((s) => s.trim());
  for (const item of items) {
    const [addr = '', bits, ...rest] = item.split('/');
    const family = isIP(addr);
    const max = family === 6 ? 128 : 32;
    const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max);
    if (!family || !okBits || rest.length)
      throw new Error(
        `BOSUN_TRUST_PROXY must list proxy addresses or CIDRs (e.g. 127.0.0.1,10.0.0.0/8), got '${item}'`,
      );
  }
  return items;
}

/** An on/off environment setting: unset or empty is the default; 1/true/on and 0/false/off. */
function parseSwitch(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(v)) return true;
  if (['0', 'false', 'off', 'no'].includes(v)) return false;
  throw new Error(`${name} must be 1 or 0 (true/false, on/off), got '${value}'`);
}
