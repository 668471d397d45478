// Every shell block of README.md and docs/*.md, run as a new user types it, against the stack
// `make run` starts: scripts/influxdb.sh and scripts/stack.mjs, as they are, in a scratch checkout
// (symlinks to this one, its own .run/ and .data/) on free ports. The only change made to a block
// is the ports: make run's fixed ports (8080, 1883, 1884…, 50051, 8086, 9460, 9464…) become this
// stack's. A block that needs what a test cannot have (sudo, systemd, another machine) says so in
// the comment line `<!-- docs-test: skip (reason) -->` above it; every other block must run. The
// blocks of one file run in one shell, in order, as in one terminal.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goToolPath, stablePorts } from './test-support/index.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LINKED = ['cloud', 'edge', 'proto', 'simulators', 'dashboard', 'seeds', 'scripts', 'node_modules', 'package.json', 'Makefile'];
const SKIP = /<!--\s*docs-test:\s*skip\s*\(([^)]+)\)\s*-->\s*$/;

interface Block {
  file: string;
  line: number;
  text: string;
  skip?: string;
}

/** The sh/bash blocks of the user docs, with their skip markers. */
function blocks(): Block[] {
  const files = [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const out: Block[] = [];
  for (const file of files.sort()) {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^\s*```(sh|bash|shell)\s*$/.test(lines[i]!)) continue;
      const start = i;
      const body: string[] = [];
      for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
      let prev = start - 1;
      while (prev >= 0 && lines[prev]!.trim() === '') prev--;
      const skip = prev >= 0 ? SKIP.exec(lines[prev]!)?.[1] : undefined;
      out.push({ file, line: start + 1, text: body.join('\n'), ...(skip ? { skip } : {}) });
    }
  }
  return out;
}

let dir: string;
let env: NodeJS.ProcessEnv;
const ports = new Map<number, number>();
const all = blocks();

function run(script: string, timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { cwd: dir, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** make run's fixed ports, as the docs show them, become this stack's. */
function withPorts(text: string): string {
  return text.replace(/(:|-p |-addr=[\d.]+:)(\d{4,5})\b/g, (whole, prefix: string, port: string) => {
    const mapped = ports.get(Number(port));
    return mapped === undefined ? whole : `${prefix}${mapped}`;
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'michi-docs-'));
  for (const name of LINKED) symlinkSync(join(ROOT, name), join(dir, name));
  // The Go tools the docs use, on PATH under the names the docs give them.
  const bin = join(dir, '.bin');
  mkdirSync(bin);
  for (const [tool, name] of [
    ['grpcurl', 'grpcurl'],
    ['grpc-health-probe', 'grpc_health_probe'],
  ] as const) {
    symlinkSync(goToolPath(tool), join(bin, name));
  }
  // Below the ephemeral range: the stack binds them a minute later, while other tests open connections.
  const base = await stablePorts(14);
  const [http, mqtt, grpc, influx, influxRpc, cloudMetrics] = [0, 1, 2, 3, 4, 5].map((i) => base + i);
  const edgeBase = base + 6;
  const metricsBase = base + 10;
  ports.set(8080, http!).set(1883, mqtt!).set(50051, grpc!).set(8086, influx!).set(9460, cloudMetrics!);
  for (let i = 0; i < 4; i++) ports.set(1884 + i, edgeBase + i).set(9464 + i, metricsBase + i);
  env = {
    ...process.env,
    PATH: `${bin}:${join(ROOT, 'node_modules/.bin')}:${process.env['PATH']}`,
    MICHI_HTTP_PORT: String(http),
    MICHI_MQTT_PORT: String(mqtt),
    MICHI_GRPC_PORT: String(grpc),
    MICHI_INFLUX_PORT: String(influx),
    MICHI_INFLUX_RPC_PORT: String(influxRpc),
    MICHI_CLOUD_METRICS_PORT: String(cloudMetrics),
    MICHI_EDGE_BASE_PORT: String(edgeBase),
    MICHI_METRICS_BASE_PORT: String(metricsBase),
    // docs/api.md writes $TOKEN for "your token".
    TOKEN: '',
  };
  const influxStart = await run('bash scripts/influxdb.sh start', 60_000);
  if (influxStart.code !== 0) throw new Error(`scripts/influxdb.sh start: ${influxStart.out}`);
  const stack = await run('node scripts/stack.mjs', 120_000);
  if (stack.code !== 0) throw new Error(`scripts/stack.mjs: ${stack.out}\n${await run('tail -n 30 .run/*.log', 5_000).then((r) => r.out)}`);
  env['TOKEN'] = /^MICHI_API_TOKEN_OPERATOR=(.*)$/m.exec(readFileSync(join(dir, '.run/secrets.env'), 'utf8'))?.[1] ?? '';
}, 300_000);

afterAll(async () => {
  if (!dir) return;
  await run('bash scripts/stop.sh', 60_000);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('the shell blocks of README.md and docs/', () => {
  it('each is run by this test or says why not', () => {
    expect(all.length).toBeGreaterThan(10);
    for (const b of all.filter((x) => x.skip !== undefined)) expect(b.skip!.length, `${b.file}:${b.line}`).toBeGreaterThan(10);
  });

  const byFile = new Map<string, Block[]>();
  for (const b of all) if (b.skip === undefined) byFile.set(b.file, [...(byFile.get(b.file) ?? []), b]);
  for (const [file, fileBlocks] of byFile) {
    it(`${file}: ${fileBlocks.length} block(s) run as written`, async () => {
      // One shell per file, as one terminal; a failing command stops it and names its block.
      const script = [
        'set -eo pipefail',
        ...fileBlocks.map((b) => `echo '### ${file}:${b.line}'\n${withPorts(b.text)}`),
        "echo '### done'",
      ].join('\n');
      const { code, out } = await run(script, 240_000);
      // What a person would have seen, for when this fails (or passes when it should not).
      mkdirSync(join(ROOT, '.run'), { recursive: true });
      writeFileSync(join(ROOT, '.run', `docs-test-${file.replaceAll('/', '-')}.log`), out);
      const failedAt = out.match(/### (\S+)\n(?![^]*### )/)?.[1] ?? '?';
      expect(code, `${file}: exit ${code} in the block at ${failedAt}:\n${out.slice(-3000)}`).toBe(0);
      expect(out).toContain('### done');
      // A refused request still exits 0 under curl -s: no michi error code may appear in the output.
      expect(out, `${file}: an error code in the output`).not.toMatch(/MICHI_ERR_[A-Z_]+/);
    }, 300_000);
  }
});
