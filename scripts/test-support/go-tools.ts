// The Go tools tests check michi with (grpcurl, grpc_health_probe, nats-server, promtool): what scripts/go-tool.sh installs
// through the Go module proxy when missing (built once, then cached), by path.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const GO_TOOL = fileURLToPath(new URL('../go-tool.sh', import.meta.url));

export type GoTool = 'grpcurl' | 'grpc-health-probe' | 'nats-server' | 'promtool';

export function goToolPath(tool: GoTool): string {
  const r = spawnSync('bash', [GO_TOOL, tool], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/go-tool.sh ${tool} could not install it: ${r.stderr}`);
  return r.stdout.trim().split('\n').at(-1)!;
}
