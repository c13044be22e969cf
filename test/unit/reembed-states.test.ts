import { describe, expect, test } from 'vitest';
import { InvalidTransitionError, OPEN_STATES, STATES, TRANSITIONS, canTransition } from '../../src/reembed/states.ts';

describe('reembed state machine', () => {
  test('the happy path is legal, step by step', () => {
    const path = ['planned', 'backfilling', 'validating', 'ready', 'cut_over', 'retired'] as const;
    for (let i = 0; i + 1 < path.length; i++) expect(canTransition(path[i]!, path[i + 1]!)).toBe(true);
  });

  test('illegal moves are refused: no skipping the gate, no leaving a terminal state, no abort after cutover', () => {
    expect(canTransition('backfilling', 'cut_over')).toBe(false);
    expect(canTransition('planned', 'ready')).toBe(false);
    expect(canTransition('cut_over', 'aborted')).toBe(false);
    expect(canTransition('validating', 'rolled_back')).toBe(false);
    for (const terminal of ['retired', 'aborted', 'rolled_back'] as const) for (const s of STATES) expect(canTransition(terminal, s)).toBe(false);
    expect(new InvalidTransitionError('7', 'retired', 'ready').message).toMatch(/cannot go from retired to ready \(allowed from retired: nothing, it is finished\)/);
  });

  test('every state is in the table and open states are exactly the non-terminal ones', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...STATES].sort());
    expect([...OPEN_STATES].sort()).toEqual(STATES.filter((s) => TRANSITIONS[s].length > 0).sort());
  });
});

describe('derived gate queries', () => {
  test('the first sentence, or the first 20 words when it is too short to mean anything', async () => {
    const { firstSentence } = await import('../../src/reembed/gate.ts');
    expect(firstSentence('# Title\n\nThe quick brown fox jumps over the lazy dog today. Then more.')).toBe('Title The quick brown fox jumps over the lazy dog today.');
    expect(firstSentence('Record 123. alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon')).toBe(
      'Record 123. alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma',
    );
  });
});
