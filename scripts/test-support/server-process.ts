// A server binary (influxd, mosquitto) run as a child of the test process: keeps the tail of its
// output for error messages, stops it by its own PID, and makes sure it does not outlive the tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from './ports.js';

const TAIL_LINES = 60;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export interface ServerProcessOptions {
  /** Short name for messages, e.g. "influxd". */
  name: string;
  command: string;
  args: string[];
  /**
   * A string unique to this instance that appears in its command line (the config path). The
   * watchdog kills the PID only if its command line still contains it, so a reused PID is safe.
   */
  marker: string;
  /** Removed by the watchdog if the test process dies without calling stop(). */
  tmpDir?: string;
}

// Every child still running, killed synchronously when the test process exits normally.
const live = new Set<ServerProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const server of live) server.killNow();
  });
}

// When the test process is killed (SIGKILL, a worker torn down), 'exit' handlers do not run. This
// detached shell outlives it, waits for it to disappear, then kills the server and removes its
// tmp dir. `tail --pid` polls once a second and costs no process per poll.
const WATCHDOG = `
tail --pid="$1" -f /dev/null 2>/dev/null
if tr '\\0' ' ' </proc/"$2"/cmdline 2>/dev/null | grep -qF -- "$3"; then
  kill -CONT "$2" 2>/dev/null; kill -KILL "$2" 2>/dev/null
  i=0; while [ $i -lt 50 ] && [ -s /proc/"$2"/cmdline ]; do sleep 0.1; i=$((i+1)); done
fi
[ -n "$4" ] && rm -rf -- "$4"
exit 0
`;

export class ServerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves (never rejects) once the process has exited or failed to start. */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly output: string[] = [];
  private partial = '';
  private paused = false;
  private watchdog: ChildProcess | undefined;

  constructor(opts: ServerProcessOptions) {
    this.name = opts.name;
    this.child = spawn(opts.command, opts.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo ??= { code, signal };
        resolve(this.exitInfo);
      });
      // ENOENT and the like: 'exit' never comes.
      this.child.once('error', (error) => {
        this.exitInfo ??= { code: null, signal: null, error };
        resolve(this.exitInfo);
      });
    }).finally(() => {
      live.delete(this);
      this.stopWatchdog();
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.record(chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.record(chunk));
    if (this.child.pid !== undefined) {
      live.add(this);
      installExitHook();
      this.watchdog = spawn(
        'sh',
        ['-c', WATCHDOG, 'michi-watchdog', String(process.pid), String(this.child.pid), opts.marker, opts.tmpDir ?? ''],
        { detached: true, stdio: 'ignore' },
      );
      this.watchdog.on('error', () => {}); // best effort: without sh we still have the exit hook
      this.watchdog.unref();
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** The last lines the process wrote to stdout and stderr. */
  outputTail(lines = 30): string {
    const all = this.partial ? [...this.output, this.partial] : this.output;
    return all.slice(-lines).join('\n');
  }

  describeExit(): string {
    const info = this.exitInfo;
    if (!info) return `${this.name} (pid ${this.pid}) is running`;
    if (info.error) return `${this.name} failed to start: ${info.error.message}`;
    return `${this.name} exited with ${info.signal ? `signal ${info.signal}` : `code ${info.code}`}`;
  }

  /**
   * Polls `check` until it succeeds; fails early if the process exits. On failure the process is
   * killed and the error carries the tail of its output.
   */
  async waitReady(check: () => Promise<unknown>, what: string, timeoutMs: number): Promise<void> {
    let exitedEarly = false;
    const ready = waitFor(
      async () => {
        if (!this.running) {
          exitedEarly = true;
          return true; // stop polling; reported below
        }
        await check();
        return true;
      },
      { timeoutMs, intervalMs: 50, what },
    );
    try {
      await ready;
      if (exitedEarly) throw new Error(`${this.describeExit()} while waiting for ${what}`);
    } catch (err) {
      await this.stop(1_000);
      const tail = this.outputTail();
      throw new Error(`${(err as Error).message}\n--- ${this.name} output (last lines) ---\n${tail || '(none)'}`, {
        cause: err,
      });
    }
  }

  /** SIGSTOP: the process keeps its sockets but answers nothing, like a hung server. */
  pause(): void {
    if (!this.running) throw new Error(`${this.name} is not running`);
    process.kill(this.pid, 'SIGSTOP');
    // kill() returns before every thread has stopped; on a busy machine a multi-threaded server can
    // still answer a request meanwhile. Wait until the kernel reports the process stopped ('T').
    const deadline = Date.now() + 5_000;
    while (processState(this.pid) !== 'T' && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    this.paused = true;
  }

  resume(): void {
    if (!this.running) throw new Error(`${this.name} is not running`);
    process.kill(this.pid, 'SIGCONT');
    this.paused = false;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 5_000): Promise<ExitInfo> {
    if (this.running) {
      if (this.paused) this.signal('SIGCONT'); // a stopped process would not act on SIGTERM
      this.signal('SIGTERM');
      const timeout = sleep(graceMs).then(() => 'timeout' as const);
      if ((await Promise.race([this.exited, timeout])) === 'timeout') this.signal('SIGKILL');
    }
    return this.exited;
  }

  /** Synchronous SIGKILL, for the process 'exit' hook. */
  killNow(): void {
    this.signal('SIGKILL');
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      this.child.kill(sig);
    } catch {
      // already gone
    }
  }

  private stopWatchdog(): void {
    const pid = this.watchdog?.pid;
    this.watchdog = undefined;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGTERM'); // its own process group: the shell and its `tail`
    } catch {
      // already gone
    }
  }

  private record(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = (lines.pop() ?? '').slice(-4_096); // a process that never writes a newline
    this.output.push(...lines);
    if (this.output.length > TAIL_LINES * 2) this.output.splice(0, this.output.length - TAIL_LINES);
  }
}

/** The state letter of /proc/<pid>/stat (R, S, T, Z, ...), or '' when it cannot be read. */
function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
}

/**
 * A server that lives in a scratch directory of its own (InfluxDB, Mosquitto): the directory is
 * removed when the server fails to start, and by stop(), which is safe to call twice.
 */
export class ScratchServer {
  private stoppedFlag = false;

  private constructor(
    readonly dir: string,
    /** Replaced when the caller restarts the server in the same directory. */
    public server: ServerProcess,
  ) {}

  /** Runs `launch` (start the process, wait until it is ready); on failure removes `dir` and rethrows. */
  static async start(dir: string, launch: () => Promise<ServerProcess>): Promise<ScratchServer> {
    try {
      return new ScratchServer(dir, await launch());
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  /** SIGTERM (SIGKILL after 5 s), then the directory is removed. */
  async stop(): Promise<void> {
    if (this.stoppedFlag) return;
    this.stoppedFlag = true;
    await this.server.stop(5_000);
    await rm(this.dir, { recursive: true, force: true });
  }
}
