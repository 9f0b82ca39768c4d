import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

/**
 * Our own Mosquitto and our own PostgreSQL cluster, in temp directories on free ports, so the fault
 * tests can kill and restart them without touching the machine's shared services.
 */

function which(bin: string, extra: string[] = []): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...extra]) {
    const p = join(dir, bin);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

export const mosquittoBinary = () => which('mosquitto', ['/usr/sbin', '/usr/local/sbin']);

/** Mosquitto 2's dynamic-security plugin (Debian: in the `mosquitto` package, under the multiarch dir). */
export function dynsecPlugin(): string | undefined {
  for (const dir of ['/usr/lib', '/usr/local/lib', '/usr/lib/mosquitto']) {
    if (existsSync(join(dir, 'mosquitto_dynamic_security.so')))
      return join(dir, 'mosquitto_dynamic_security.so');
    let subdirs: string[] = [];
    try {
      subdirs = readdirSync(dir).filter((d) => d.endsWith('-linux-gnu'));
    } catch {}
    for (const d of subdirs) {
      const p = join(dir, d, 'mosquitto_dynamic_security.so');
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

export interface OwnMosquittoOptions {
  /**
   * Dynamic security: anonymous clients refused, `admin` (with `password`) the plugin's admin, the
   * way `deploy/mosquitto/setup-dynsec.sh` sets up a broker. `persistence` keeps retained messages
   * across restarts (the presence tests restart the broker).
   */
  dynsec?: { admin: string; password: string };
  persistence?: boolean;
  /**
   * A second listener speaking MQTT over TLS with this PEM certificate and key (files), the way
   * deploy/mosquitto/mosquitto.conf gives robots 8883 next to the replicas' plain port.
   */
  tls?: { certFile: string; keyFile: string };
}

export class OwnMosquitto {
  readonly dir = mkdtempSync(join(tmpdir(), 'bosun-mosquitto-'));
  port = 0;
  tlsPort = 0;
  private proc: ChildProcess | undefined;
  log = '';

  constructor(
    private readonly bin: string,
    private readonly opts: OwnMosquittoOptions = {},
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** The TLS listener (with `tls`). */
  get tlsUrl(): string {
    return `mqtts://127.0.0.1:${this.tlsPort}`;
  }

  /** The URL with the admin's credentials (what the server gets as BOSUN_MQTT_URL). */
  get adminUrl(): string {
    const d = this.opts.dynsec;
    return d
      ? `mqtt://${encodeURIComponent(d.admin)}:${encodeURIComponent(d.password)}@127.0.0.1:${this.port}`
      : this.url;
  }

  async start(): Promise<void> {
    this.port ||= await freePort();
    const conf = join(this.dir, 'mosquitto.conf');
    const lines = ['per_listener_settings false', `listener ${this.port} 127.0.0.1`];
    if (this.opts.tls) {
      this.tlsPort ||= await freePort();
      // Copied beside the config: Mosquitto started as root reads them as the `mosquitto` user.
      copyFileSync(this.opts.tls.certFile, join(this.dir, 'broker.crt'));
      copyFileSync(this.opts.tls.keyFile, join(this.dir, 'broker.key'));
      if (process.getuid?.() === 0)
        execFileSync('chown', ['mosquitto:', join(this.dir, 'broker.crt'), join(this.dir, 'broker.key')]);
      lines.push(
        `listener ${this.tlsPort} 127.0.0.1`,
        `certfile ${join(this.dir, 'broker.crt')}`,
        `keyfile ${join(this.dir, 'broker.key')}`,
      );
    }
    if (process.getuid?.() === 0) {
      // Mosquitto started as root drops to the `mosquitto` user, which must be able to save its files.
      lines.push('user mosquitto');
      const uid = Number(execFileSync('id', ['-u', 'mosquitto'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'mosquitto'], { encoding: 'utf8' }).trim());
      chownSync(this.dir, uid, gid);
    }
    lines.push(
      this.opts.persistence
        ? `persistence true\npersistence_location ${this.dir}/\nautosave_interval 1`
        : 'persistence false',
    );
    const dynsec = this.opts.dynsec;
    if (dynsec) {
      const plugin = dynsecPlugin();
      if (!plugin) throw new Error('mosquitto_dynamic_security.so not found');
      const file = join(this.dir, 'dynamic-security.json');
      if (!existsSync(file)) {
        execFileSync('mosquitto_ctrl', ['dynsec', 'init', file, dynsec.admin, dynsec.password], {
          stdio: 'ignore',
        });
        if (process.getuid?.() === 0) execFileSync('chown', ['mosquitto:', file]);
      }
      lines.push('allow_anonymous false', `plugin ${plugin}`, `plugin_opt_config_file ${file}`);
    } else lines.push('allow_anonymous true');
    writeFileSync(conf, `${lines.join('\n')}\n`);
    this.proc = spawn(this.bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d) => {
      this.log += d;
    });
    this.proc.stderr!.on('data', (d) => {
      this.log += d;
    });
    await waitForPort(
      this.port,
      () => this.proc?.exitCode === null,
      () => this.log,
    );
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
  }

  async destroy(): Promise<void> {
    await this.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function postgresBinDir(): string | undefined {
  for (const v of ['17', '16', '15', '14']) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  const initdb = which('initdb');
  return initdb ? join(initdb, '..') : undefined;
}

/** A PostgreSQL cluster of our own (initdb + pg_ctl), run as the postgres user when we are root. */
export class OwnPostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'bosun-pg-'));
  readonly data = join(this.dir, 'data');
  port = 0;

  constructor(private readonly bin: string) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private run(tool: string, args: string[]): string {
    const cmd = join(this.bin, tool);
    const asRoot = process.getuid?.() === 0;
    return execFileSync(asRoot ? 'runuser' : cmd, asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  async init(): Promise<void> {
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(this.dir, uid, gid);
    }
    this.run('initdb', ['-D', this.data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    this.port = await freePort();
  }

  start(): void {
    this.run('pg_ctl', [
      '-D',
      this.data,
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      'start',
    ]);
  }

  /** `immediate` is a crash as far as clients can tell: every connection is cut without goodbye. */
  stop(mode: 'fast' | 'immediate' = 'immediate'): void {
    this.run('pg_ctl', ['-D', this.data, '-m', mode, '-w', 'stop']);
  }

  destroy(): void {
    try {
      this.stop('fast');
    } catch {}
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function waitForPort(port: number, alive: () => boolean, log: () => string): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 200; i++) {
    if (!alive()) throw new Error(`service exited before listening on ${port}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}: ${log()}`);
}

/** RabbitMQ's start script (Debian's `rabbitmq-server` package), when installed. */
export const rabbitmqServerBinary = () =>
  ['/usr/lib/rabbitmq/bin/rabbitmq-server', which('rabbitmq-server')].find((p) => p && existsSync(p));

/**
 * A RabbitMQ node of our own (own node name, ports, data and config in a temp dir; the machine's
 * node is not touched) with the MQTT plugin and `rabbitmq_auth_backend_http`: the given internal
 * user (the Bosun server's account, loaded from definitions) is checked first, every other login and
 * permission is asked of `authUrl` (`…/broker/v1/rabbitmq`). Booting takes tens of seconds.
 */
export class OwnRabbitMQ {
  readonly dir = mkdtempSync(join(tmpdir(), 'bosun-rabbitmq-'));
  readonly node = `bosun${Math.random().toString(36).slice(2, 10)}@localhost`;
  mqttPort = 0;
  private proc: ChildProcess | undefined;
  log = '';

  constructor(
    private readonly bin: string,
    private readonly opts: { authUrl: string; user: { name: string; password: string } },
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.mqttPort}`;
  }

  async start(): Promise<void> {
    const { createHash, randomBytes } = await import('node:crypto');
    const [amqp, dist] = [await freePort(), await freePort()];
    this.mqttPort = await freePort();
    const salt = randomBytes(4);
    const hash = createHash('sha256')
      .update(Buffer.concat([salt, Buffer.from(this.opts.user.password, 'utf8')]))
      .digest();
    const name = this.opts.user.name;
    writeFileSync(
      join(this.dir, 'definitions.json'),
      JSON.stringify({
        users: [
          {
            name,
            password_hash: Buffer.concat([salt, hash]).toString('base64'),
            hashing_algorithm: 'rabbit_password_hashing_sha256',
            tags: [],
          },
        ],
        vhosts: [{ name: '/' }],
        permissions: [{ user: name, vhost: '/', configure: '.*', write: '.*', read: '.*' }],
        topic_permissions: [
          {
            user: name,
            vhost: '/',
            exchange: 'amq.topic',
            write: '^bosun\\.v1\\.devices\\.',
            read: '^bosun\\.v1\\.devices\\.',
          },
        ],
      }),
    );
    const a = this.opts.authUrl;
    writeFileSync(
      join(this.dir, 'rabbitmq.conf'),
      [
        `listeners.tcp.default = 127.0.0.1:${amqp}`,
        `mqtt.listeners.tcp.default = 127.0.0.1:${this.mqttPort}`,
        'mqtt.allow_anonymous = false',
        `load_definitions = ${join(this.dir, 'definitions.json')}`,
        'auth_backends.1 = internal',
        'auth_backends.2 = http',
        'auth_http.http_method = post',
        ...['user', 'vhost', 'resource', 'topic'].map((p) => `auth_http.${p}_path = ${a}/${p}`),
        '',
      ].join('\n'),
    );
    writeFileSync(join(this.dir, 'enabled_plugins'), '[rabbitmq_mqtt,rabbitmq_auth_backend_http].\n');
    const env = {
      ...process.env,
      HOME: this.dir,
      RABBITMQ_NODENAME: this.node,
      RABBITMQ_DIST_PORT: String(dist),
      RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.dir, 'log'),
      RABBITMQ_PID_FILE: join(this.dir, 'pid'),
    };
    // Its own process group, so stopping it ends the Erlang VM the script starts, and nothing else.
    this.proc = spawn(this.bin, [], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-20_000);
    };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    for (let i = 0; i < 240; i++) {
      if (this.proc.exitCode !== null) throw new Error(`rabbitmq exited while starting: ${this.log}`);
      if (/Starting broker\.\.\. completed/.test(this.log))
        return waitForPort(
          this.mqttPort,
          () => true,
          () => this.log,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`rabbitmq did not start: ${this.log}`);
  }

  async destroy(): Promise<void> {
    const p = this.proc;
    if (p?.pid && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      try {
        process.kill(-p.pid, 'SIGTERM');
      } catch {}
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
