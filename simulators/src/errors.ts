/**
 * Errors of the simulators. Their codes are stable (docs/errors.md lists them) so that scripts
 * driving `michi-sim` can tell a usage mistake from a broker that cannot be reached.
 */

export const SimErrorCodes = {
  /** A command-line argument or runFleet option is missing, malformed or contradictory. */
  USAGE: 'MICHI_ERR_SIM_USAGE',
  /** A pilot cannot be simulated as given (unknown pilot, a vehicle whose gateway has no broker URL). */
  PILOT: 'MICHI_ERR_SIM_PILOT',
  /** The simulator could not connect to a gateway's broker. */
  CONNECT: 'MICHI_ERR_SIM_CONNECT',
  /** An MCAP recording cannot be written or read (not MCAP, not indexed, no michi channels). */
  RECORDING: 'MICHI_ERR_SIM_RECORDING',
  /** Readings cannot be exported from InfluxDB (unreachable, a query failed). */
  INFLUX: 'MICHI_ERR_SIM_INFLUX',
} as const;

export type SimErrorCode = (typeof SimErrorCodes)[keyof typeof SimErrorCodes];

export class SimulatorError extends Error {
  readonly code: SimErrorCode;
  readonly context: Record<string, unknown>;

  constructor(code: SimErrorCode, message: string, context: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}

/** Bad arguments or options: the CLI prints the message and exits with 2. */
export class UsageError extends SimulatorError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super(SimErrorCodes.USAGE, message, context);
  }
}
