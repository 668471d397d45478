// What an operator hears of a new critical alarm: a short two-tone beep made with WebAudio (no
// sound file to download or serve), unless muted. The choice is remembered in localStorage.
// Browsers start an AudioContext suspended until the person has interacted with the page, so the
// context is made on the first click or key press and resumed before each beep.

const STORAGE_KEY = 'michi.alarmSound';

export interface AlarmCue {
  readonly muted: boolean;
  setMuted(muted: boolean): void;
  beep(): void;
}

type Storage = Pick<globalThis.Storage, 'getItem' | 'setItem'>;

export function createAlarmCue(
  storage: Storage | null = globalThis.localStorage ?? null,
  makeContext: () => AudioContext | null = () => (typeof AudioContext === 'undefined' ? null : new AudioContext()),
): AlarmCue {
  let muted = false;
  try {
    muted = storage?.getItem(STORAGE_KEY) === 'off';
  } catch {
    // Unreadable storage (private mode, policy): sound on, for this page.
  }
  let context: AudioContext | null = null;
  const unlock = () => {
    context ??= makeContext();
    void context?.resume().catch(() => undefined);
  };
  if (typeof document !== 'undefined') {
    document.addEventListener('pointerdown', unlock, { once: true, capture: true });
    document.addEventListener('keydown', unlock, { once: true, capture: true });
  }

  return {
    get muted() {
      return muted;
    },
    setMuted(next) {
      muted = next;
      try {
        storage?.setItem(STORAGE_KEY, next ? 'off' : 'on');
      } catch {
        // Unwritable storage: the choice lasts for this page.
      }
      if (!next) unlock();
    },
    beep() {
      if (muted) return;
      context ??= makeContext();
      if (!context) return;
      void context.resume().catch(() => undefined);
      const start = context.currentTime + 0.02;
      // 880 Hz then 660 Hz, 0.18 s each: heard over a room's noise, not mistaken for a phone.
      for (const [i, hz] of [880, 660].entries()) {
        const osc = context.createOscillator();
        const gain = context.createGain();
        osc.type = 'square';
        osc.frequency.value = hz;
        const t0 = start + i * 0.22;
        gain.gain.setValueAtTime(0.0001, t0);
        gain.gain.exponentialRampToValueAtTime(0.2, t0 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.18);
        osc.connect(gain).connect(context.destination);
        osc.start(t0);
        osc.stop(t0 + 0.2);
      }
    },
  };
}
