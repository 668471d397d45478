/**
 * The command lines of michi-cloud and michi-ingest-worker, parsed with node:util parseArgs as the
 * edge's is. Its errors become ConfigError (exit 2) in the words an operator saw before:
 * "unknown option --x" with the usage, "--config needs a file name".
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '@michi/proto';

/** Option name → what its value is, for "--name needs a …". */
export type StringOptions = Readonly<Record<string, string>>;

/**
 * The string options' values and whether --help/-h was given. `valueNames` names each string
 * option's value for the message when it is missing ("a file name", "a value").
 */
export function parseCommandLine(
  argv: readonly string[],
  valueNames: StringOptions,
  usage: string,
): { values: Partial<Record<string, string>>; help: boolean } {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const name of Object.keys(valueNames)) options[name] = { type: 'string' };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    const named = /'(-[^' ]+)/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && named) {
      const name = named.replace(/^--?/, '');
      throw new ConfigError(`--${name} needs ${valueNames[name] ?? 'a value'}`);
    }
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && named) throw new ConfigError(`unknown option ${named}\n${usage}`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      throw new ConfigError(`unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}\n${usage}`);
    throw new ConfigError(`${message}\n${usage}`);
  }
  const { help, ...rest } = parsed.values;
  const values: Partial<Record<string, string>> = {};
  for (const [name, value] of Object.entries(rest)) {
    if (typeof value !== 'string') continue;
    if (value === '') throw new ConfigError(`--${name} needs ${valueNames[name] ?? 'a value'}`);
    values[name] = value;
  }
  return { values, help: help === true };
}
