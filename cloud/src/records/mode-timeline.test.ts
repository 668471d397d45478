import { describe, expect, it } from 'vitest';
import { observeMode, trimRuns, type ModeRun } from './mode-timeline.js';

/** Feeds (ts, mode) observations in arrival order; returns the runs and every boundary as "from@ts>to@ts". */
function feed(observations: [number, string][]): { runs: ModeRun[]; boundaries: string[] } {
  const runs: ModeRun[] = [];
  const boundaries: string[] = [];
  for (const [t, m] of observations) {
    for (const b of observeMode(runs, t, m).boundaries) boundaries.push(`${b.fromMode ?? '-'}@${b.fromTsMs ?? '-'}>${b.toMode}@${b.tsMs}`);
  }
  return { runs, boundaries };
}

describe('observeMode', () => {
  it('in source-time order: one boundary per change, the first observation included', () => {
    const { runs, boundaries } = feed([
      [1, 'A'],
      [2, 'A'],
      [3, 'B'],
      [4, 'B'],
      [5, 'A'],
    ]);
    expect(boundaries).toEqual(['-@->A@1', 'A@2>B@3', 'B@4>A@5']);
    expect(runs).toEqual([
      { fromTs: 1, toTs: 2, mode: 'A' },
      { fromTs: 3, toTs: 4, mode: 'B' },
      { fromTs: 5, toTs: 5, mode: 'A' },
    ]);
  });

  it('a replay of any observation, or a state inside a run of its mode, adds nothing', () => {
    const first = feed([
      [1, 'A'],
      [5, 'A'],
      [6, 'B'],
    ]);
    const again = feed([
      [1, 'A'],
      [5, 'A'],
      [6, 'B'],
      [1, 'A'],
      [6, 'B'],
      [3, 'A'],
      [5, 'A'],
    ]);
    expect(again.boundaries).toEqual(first.boundaries);
  });

  it('a late state of another mode inside a run splits it into two changes', () => {
    expect(
      feed([
        [1, 'A'],
        [10, 'A'],
        [4, 'B'],
      ]).boundaries,
    ).toEqual(['-@->A@1', 'A@1>B@4', 'B@4>A@10']);
  });

  it('a late state in a gap: extends the run before it, moves the run after it earlier, or becomes a run of its own', () => {
    const { boundaries, runs } = feed([
      [1, 'A'],
      [10, 'B'],
      [3, 'A'], // extends A: the change is still somewhere in (3, 10]
      [8, 'B'], // B started by 8: a narrower interval (3, 8]
      [5, 'C'], // a mode between them: two changes
    ]);
    expect(boundaries).toEqual(['-@->A@1', 'A@1>B@10', 'A@3>B@8', 'A@3>C@5', 'C@5>B@8']);
    expect(runs.map((r) => r.mode)).toEqual(['A', 'C', 'B']);
  });
});

describe('trimRuns', () => {
  it('drops runs that ended before the horizon, never the newest', () => {
    const runs: ModeRun[] = [
      { fromTs: 1, toTs: 2, mode: 'A' },
      { fromTs: 3, toTs: 4, mode: 'B' },
    ];
    expect(trimRuns(runs, 3)).toBe(true);
    expect(runs).toEqual([{ fromTs: 3, toTs: 4, mode: 'B' }]);
    expect(trimRuns(runs, 100)).toBe(false);
    expect(runs).toHaveLength(1);
  });
});
