// How an autonomy mode is shown: one colour class per group that an operator reacts to
// differently. The colours themselves live in styles.css (--mode-*), the one place to change them.

import type { AutonomyMode } from './api.js';
import type { MessageKey } from './i18n.js';

export type ModeClass = 'autonomous' | 'manual' | 'remote' | 'minimal-risk' | 'unknown';

const CLASS_OF: Record<AutonomyMode, ModeClass> = {
  AUTONOMOUS: 'autonomous',
  MANUAL: 'manual',
  REMOTE_ASSIST: 'remote',
  REMOTE_DRIVING: 'remote',
  MINIMAL_RISK: 'minimal-risk',
  UNSPECIFIED: 'unknown',
};

/** Modes the API may add later fall into "unknown" rather than breaking the page. */
export function modeClass(mode: string | null | undefined): ModeClass {
  return (mode && CLASS_OF[mode as AutonomyMode]) || 'unknown';
}

export function modeLabelKey(mode: string | null | undefined): MessageKey {
  return mode && mode in CLASS_OF ? (`mode.${mode as AutonomyMode}` as const) : 'mode.UNSPECIFIED';
}

/** The legend, in the order of urgency an operator scans it. */
export const LEGEND_MODES: readonly { cls: ModeClass; label: MessageKey }[] = [
  { cls: 'autonomous', label: 'mode.AUTONOMOUS' },
  { cls: 'manual', label: 'mode.MANUAL' },
  { cls: 'remote', label: 'legend.remote' },
  { cls: 'minimal-risk', label: 'mode.MINIMAL_RISK' },
  { cls: 'unknown', label: 'mode.UNSPECIFIED' },
];

/** The same colours as --mode-* in styles/base.css, for map layers (which cannot read CSS variables). */
export const MODE_COLORS: Record<ModeClass, string> = {
  autonomous: '#16a34a',
  manual: '#f59e0b',
  remote: '#2563eb',
  'minimal-risk': '#dc2626',
  unknown: '#6b7280',
};
