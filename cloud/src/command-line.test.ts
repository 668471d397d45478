import { describe, expect, it } from 'vitest';
import { ConfigError } from '@michi/proto';
import { parseCommandLine } from './command-line.js';

const USAGE = 'usage: michi-test [--config FILE]';
const parse = (argv: string[]) => parseCommandLine(argv, { config: 'a file name', 'mosquitto-auth': 'a value' }, USAGE);

describe('parseCommandLine', () => {
  it('reads --name value, --name=value and --help/-h', () => {
    expect(parse(['--config', 'a.yaml', '--mosquitto-auth=/etc/m'])).toEqual({
      values: { config: 'a.yaml', 'mosquitto-auth': '/etc/m' },
      help: false,
    });
    expect(parse(['-h']).help).toBe(true);
    expect(parse([])).toEqual({ values: {}, help: false });
  });

  it('refuses what the commands refused before, in the same words, as ConfigError (exit 2)', () => {
    const message = (argv: string[]) => {
      try {
        parse(argv);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(message(['--config'])).toBe('--config needs a file name');
    expect(message(['--config='])).toBe('--config needs a file name');
    expect(message(['--mosquitto-auth'])).toBe('--mosquitto-auth needs a value');
    expect(message(['--verbose'])).toBe(`unknown option --verbose\n${USAGE}`);
    expect(message(['-x'])).toBe(`unknown option -x\n${USAGE}`);
    expect(message(['cloud.yaml'])).toBe(`unexpected argument cloud.yaml\n${USAGE}`);
  });
});
