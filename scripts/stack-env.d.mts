// Types of scripts/stack-env.mjs for the tests that import it.
import type { ChildProcess } from 'node:child_process';

interface GatewayRef {
  id: string;
  credentialsRef: string;
}
interface PilotRef {
  id: string;
  gateways: readonly GatewayRef[];
}
type Env = Record<string, string>;

export const INFLUX_CLOUD_PASSWORD_ENV: string;
export const API_TOKEN_ENVS: readonly string[];
export function gatewaySecretEnv(gw: GatewayRef): string;
export function deviceKeyEnv(gw: GatewayRef): string;
export function secretsNeeded(pilots: readonly PilotRef[]): {
  cloud: string[];
  edges: Record<string, string[]>;
  sims: Record<string, string[]>;
};
export function processEnv(
  inherited: Readonly<Record<string, string | undefined>>,
  secrets: Readonly<Env>,
  names: readonly string[],
  drop?: readonly string[],
): Env;
export function startProcess(args: readonly string[], env: Env, logFile: string): ChildProcess;
