/**
 * An MQTT broker on 127.0.0.1 and a given port, for the bench and the tests: Mosquitto when its
 * binary is on this machine (`/usr/sbin/mosquitto`, or `mosquitto` in PATH), otherwise an
 * in-process aedes broker. It can be stopped and started again on the same port.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

export interface Broker {
  readonly kind: 'mosquitto' | 'aedes';
  readonly port: number;
  readonly url: string;
  /** Stops the broker (SIGKILL for Mosquitto): every client loses its connection. */
  stop(): Promise<void>;
  /** Starts it (again) on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it for good and removes what it wrote (Mosquitto's config). */
  dispose(): Promise<void>;
}

/** The Mosquitto binary, if this machine has one. */
export function mosquittoPath(): string | undefined {
  const candidates = [
    '/usr/sbin/mosquitto',
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'mosquitto')),
  ];
  return candidates.find(executable);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Debian puts the broker in /usr/sbin and its password tool in /usr/bin. */
const passwdTool = (binary: string) =>
  join(dirname(binary).replace(/sbin$/, 'bin'), 'mosquitto_passwd');

export interface BrokerOptions {
  /** Forces one kind (default: Mosquitto if installed). */
  readonly kind?: Broker['kind'] | undefined;
  /** Only this user, with this password, may connect (default: anyone, no login). */
  readonly user?: { readonly name: string; readonly password: string } | undefined;
}

/** A broker for `port`, not started yet. */
export function brokerOn(port: number, options: BrokerOptions = {}): Broker {
  const found = options.kind === 'aedes' ? undefined : mosquittoPath();
  // A login needs mosquitto_passwd beside the broker; without it, aedes checks the password.
  const binary =
    found && (options.user === undefined || executable(passwdTool(found))) ? found : undefined;
  if (options.kind === 'mosquitto' && binary === undefined) {
    throw new Error('mosquitto is not installed');
  }
  return binary ? mosquitto(binary, port, options.user) : aedes(port, options.user);
}

/** True once something accepts TCP connections on the port. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function untilAccepting(port: number, failed: () => boolean): Promise<void> {
  const giveUpAt = performance.now() + 15_000;
  while (!(await accepting(port))) {
    if (failed()) throw new Error(`mosquitto exited at start on port ${port}`);
    if (performance.now() > giveUpAt) throw new Error(`no broker on port ${port} after 15 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type User = BrokerOptions['user'];

function mosquitto(binary: string, port: number, user: User): Broker {
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  return {
    kind: 'mosquitto',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      if (child) return;
      dir ??= mkdtempSync(join(tmpdir(), 'echonet-mqtt-'));
      const conf = join(dir, 'mosquitto.conf');
      // set_tcp_nodelay: a broker relays small messages; Nagle would hold each back ~40 ms.
      const lines = [
        `listener ${port} 127.0.0.1`,
        `allow_anonymous ${user === undefined}`,
        'persistence false',
        'set_tcp_nodelay true',
      ];
      if (user !== undefined) {
        // Mosquitto's own tool hashes the password (mosquitto_passwd, beside the broker).
        const passwords = join(dir, 'passwords');
        execFileSync(passwdTool(binary), ['-b', '-c', passwords, user.name, user.password]);
        // Run as root, Mosquitto reads it as the `mosquitto` user, after dropping privileges.
        chmodSync(dir, 0o755);
        chmodSync(passwords, 0o644);
        lines.push(`password_file ${passwords}`);
      }
      writeFileSync(conf, [...lines, 'log_type none', ''].join('\n'));
      const started = spawn(binary, ['-c', conf], { stdio: 'ignore' });
      child = started;
      let exited = false;
      started.once('exit', () => (exited = true));
      await untilAccepting(port, () => exited);
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running && running.exitCode === null && running.signalCode === null) {
        const exited = new Promise((resolve) => running.once('exit', resolve));
        running.kill('SIGKILL');
        await exited;
      }
    },
    async dispose() {
      await this.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function aedes(port: number, user: User): Broker {
  let server: Server | undefined;
  let close: (() => Promise<void>) | undefined;
  return {
    kind: 'aedes',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      if (server) return;
      const { Aedes } = await import('aedes');
      const broker = await Aedes.createBroker({
        authenticate: (_client, username, password, done) => {
          const ok =
            user === undefined ||
            (username === user.name && password?.toString('utf8') === user.password);
          if (ok) done(null, true);
          else done(Object.assign(new Error('Not authorized'), { returnCode: 5 }), false);
        },
      });
      const sockets = new Set<Socket>();
      const s = createServer((socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        broker.handle(socket);
      });
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', resolve);
      });
      close = async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => s.close(resolve));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
      };
    },
    async stop() {
      const c = close;
      server = undefined;
      close = undefined;
      await c?.();
    },
    dispose() {
      return this.stop();
    },
  };
}
