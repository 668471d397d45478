// What the simulator benchmarks share: the stack as a child process (cloud and edges in one,
// InfluxDB in its own), michi-sim as another, and CPU and memory of each read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface StackInfo {
  pilotId: string;
  vehicles: number;
  gatewayUrls: Record<string, string>;
  /** gateway id → its edge's device key; absent for a broker that does not authenticate. */
  deviceKeys?: Record<string, string>;
  apiUrl: string;
  token: string;
  influxUrl: string;
  influxDb: string;
  influxPid: number;
  seedsDir: string;
  /** The cloud's /metrics, whose hop histograms give the per-hop latency breakdown. */
  metricsUrl?: string;
}

export interface StackProcess {
  info: StackInfo;
  pid: number;
  stop(): Promise<void>;
}

const TICKS_PER_S = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** Resident memory, MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

function waitExit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
  });
}

/**
 * Node flags for the stack and the simulator (e.g. `--cpu-prof --cpu-prof-dir=DIR` to see where a
 * hop's time goes), from MICHI_BENCH_STACK_NODE_ARGS and MICHI_BENCH_SIM_NODE_ARGS.
 */
const nodeArgs = (name: string): string[] => (process.env[name] ?? '').split(' ').filter(Boolean);

/** The stack of simulators/test/load-stack-main.ts, which prints its StackInfo line once it listens. */
export async function startStackProcess(vehicles: number): Promise<StackProcess> {
  const args = [
    ...nodeArgs('MICHI_BENCH_STACK_NODE_ARGS'),
    '--conditions=michi-src',
    '--import',
    'tsx',
    'simulators/test/load-stack-main.ts',
    String(vehicles),
    'maebashi-l4-bus',
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = await new Promise<StackInfo>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as StackInfo);
    });
    child.once('exit', (code) => reject(new Error(`the stack process exited with ${code} before it was ready`)));
  });
  return {
    info,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await waitExit(child);
    },
  };
}

export interface SimRun {
  pid: number;
  done: Promise<{ code: number | null; stdout: string }>;
}

/** michi-sim (from source, as tests run it; the transpile happens before the warm-up ends) driving the stack's scaled pilot: state readings at `rate` Hz for `durationS`. */
export function startSim(
  info: Pick<StackInfo, 'pilotId' | 'seedsDir' | 'gatewayUrls' | 'deviceKeys'>,
  durationS: number,
  extra: string[] = [],
  /** The checkout whose simulator runs (default: this one). */
  cwd?: string,
): SimRun {
  const args = [
    ...nodeArgs('MICHI_BENCH_SIM_NODE_ARGS'),
    '--conditions=michi-src',
    '--import',
    'tsx',
    'simulators/src/cli.ts',
    '--pilot',
    info.pilotId,
    '--seeds',
    info.seedsDir,
    '--rate',
    '1',
    '--duration',
    String(durationS),
  ];
  for (const [gw, url] of Object.entries(info.gatewayUrls)) args.push('--gateway-url', `${gw}=${url}`);
  // Device keys through the environment, as in production, never on the command line.
  const keyEnv: Record<string, string> = {};
  Object.entries(info.deviceKeys ?? {}).forEach(([gw, key], i) => {
    keyEnv[`MICHI_BENCH_DEVICE_KEY_${i}`] = key;
    args.push('--device-key-env', `${gw}=MICHI_BENCH_DEVICE_KEY_${i}`);
  });
  args.push('--kinds', 'state', '--no-clock-drift', '--no-autonomy-events', ...extra);
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...keyEnv },
    ...(cwd ? { cwd } : {}),
  });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  return { pid: child.pid!, done: waitExit(child).then((code) => ({ code, stdout })) };
}

/** Points of the pilot in InfluxDB's vehicle_state since `fromMs`. */
export async function storedStates(info: StackInfo, fromMs: number): Promise<number> {
  const q = `SELECT count(seq) FROM vehicle_state WHERE pilot = '${info.pilotId}' AND time >= ${fromMs}ms`;
  const res = await fetch(`${info.influxUrl}/query?${new URLSearchParams({ db: info.influxDb, q })}`);
  const json = (await res.json()) as { results: { series?: { values: [string, number][] }[] }[] };
  return json.results[0]?.series?.[0]?.values[0]?.[1] ?? 0;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
