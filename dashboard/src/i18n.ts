// Every piece of text the dashboard shows, in Japanese (the default: municipal staff read it)
// and English, plus the chosen language, remembered in localStorage.

export type Lang = 'ja' | 'en';
export const LANGS: readonly Lang[] = ['ja', 'en'];
export const DEFAULT_LANG: Lang = 'ja';

/** BCP 47 tags handed to Intl; en-GB for 24-hour clocks, as an operations room reads them. */
export const INTL_LOCALE: Record<Lang, string> = { ja: 'ja-JP', en: 'en-GB' };

const ja = {
  'app.name': 'michi 道',
  'app.tagline': '自動運転・ローカル5G 実証モニタ',
  'pilot.picker': '実証',
  'pilot.loading': '読み込み中…',
  'pilot.none': '登録された実証がありません',
  'pilot.municipality': '自治体',
  'pilot.counts': '車両 {vehicles} ・ センサー {sensors} ・ 基地局 {cellSites}',
  'lang.toggle': 'English',
  'lang.toggleLabel': '表示言語を英語に切り替える',
  'status.connecting': '接続中…',
  'status.live': 'ライブ',
  'status.offline': 'サーバーに接続できません（再試行中）',
  'vehicles.title': '車両',
  'vehicles.empty': 'この実証には車両がありません',
  'vehicle.noData': 'データなし',
  'vehicle.stale': '更新なし',
  'vehicle.show': '{name}を地図で表示',
  'vehicle.speed': '速度',
  'vehicle.updated': '更新',
  'vehicle.battery': 'バッテリー',
  'mode.AUTONOMOUS': '自動運転',
  'mode.MANUAL': '手動運転',
  'mode.REMOTE_ASSIST': '遠隔支援',
  'mode.REMOTE_DRIVING': '遠隔運転',
  'mode.MINIMAL_RISK': 'MRM停止',
  'mode.UNSPECIFIED': '不明',
  'kind.bus': 'バス',
  'kind.delivery-robot': '配送ロボット',
  'kind.car': '乗用車',
  'kind.shuttle': 'シャトル',
  'legend.title': '凡例',
  'legend.modes': '運転モード',
  'legend.remote': '遠隔支援・遠隔運転',
  'legend.stale': '10秒以上更新なし',
  'legend.map': '地図',
  'legend.route': 'ルート',
  'legend.stop': '停留所',
  'legend.cellSite': '5G 基地局',
  'geofence.operational': '運行エリア',
  'geofence.slow-zone': '徐行区間',
  'geofence.no-go': '進入禁止区域',
  'cellSite.title': '5G 基地局',
  'cellSite.band': 'バンド',
  'cellSite.pci': 'PCI',
  'cellSite.cellId': 'セルID',
  'stop.title': '停留所',
  'map.label': '{pilot}の地図',
  'notice.label': 'ご注意',
  'error.pilots': '実証の一覧を読み込めませんでした。',
  'error.pilot': '実証「{id}」を読み込めませんでした。',
  'error.unknownPilot': '実証「{id}」は見つかりません。「{name}」を表示しています。',
  'error.map': '地図を表示できません（WebGL が使えません）。',
} as const;

export type MessageKey = keyof typeof ja;

const en: Record<MessageKey, string> = {
  'app.name': 'michi 道',
  'app.tagline': 'Autonomous-driving & local-5G pilot monitor',
  'pilot.picker': 'Pilot',
  'pilot.loading': 'Loading…',
  'pilot.none': 'No pilots are configured',
  'pilot.municipality': 'Municipality',
  'pilot.counts': '{vehicles} vehicles · {sensors} sensors · {cellSites} cell sites',
  'lang.toggle': '日本語',
  'lang.toggleLabel': 'Switch the display language to Japanese',
  'status.connecting': 'Connecting…',
  'status.live': 'Live',
  'status.offline': 'Cannot reach the server (retrying)',
  'vehicles.title': 'Vehicles',
  'vehicles.empty': 'This pilot has no vehicles',
  'vehicle.noData': 'No data',
  'vehicle.stale': 'Stale',
  'vehicle.show': 'Show {name} on the map',
  'vehicle.speed': 'Speed',
  'vehicle.updated': 'Updated',
  'vehicle.battery': 'Battery',
  'mode.AUTONOMOUS': 'Autonomous',
  'mode.MANUAL': 'Manual',
  'mode.REMOTE_ASSIST': 'Remote assist',
  'mode.REMOTE_DRIVING': 'Remote driving',
  'mode.MINIMAL_RISK': 'Minimal-risk stop',
  'mode.UNSPECIFIED': 'Unknown',
  'kind.bus': 'Bus',
  'kind.delivery-robot': 'Delivery robot',
  'kind.car': 'Car',
  'kind.shuttle': 'Shuttle',
  'legend.title': 'Legend',
  'legend.modes': 'Driving mode',
  'legend.remote': 'Remote assist / driving',
  'legend.stale': 'Stale (10 s+)',
  'legend.map': 'Map',
  'legend.route': 'Route',
  'legend.stop': 'Stop',
  'legend.cellSite': '5G cell site',
  'geofence.operational': 'Operational area',
  'geofence.slow-zone': 'Slow zone',
  'geofence.no-go': 'No-go zone',
  'cellSite.title': '5G cell site',
  'cellSite.band': 'Band',
  'cellSite.pci': 'PCI',
  'cellSite.cellId': 'Cell ID',
  'stop.title': 'Stop',
  'map.label': 'Map of {pilot}',
  'notice.label': 'Notice',
  'error.pilots': 'Could not load the list of pilots.',
  'error.pilot': 'Could not load pilot "{id}".',
  'error.unknownPilot': 'There is no pilot "{id}". Showing "{name}" instead.',
  'error.map': 'The map cannot be shown (WebGL is not available).',
};

const MESSAGES: Record<Lang, Record<MessageKey, string>> = { ja, en };

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export function translator(lang: Lang): Translate {
  const table = MESSAGES[lang];
  return (key, params) => {
    const text = table[key];
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
  };
}

export function isMessageKey(key: string): key is MessageKey {
  return key in ja;
}

/** A {ja, en} name from the API, in the chosen language. */
export function pick(name: { ja: string; en: string }, lang: Lang): string {
  return name[lang];
}

export function isLang(value: unknown): value is Lang {
  return value === 'ja' || value === 'en';
}

const STORAGE_KEY = 'michi.lang';

export interface LangStore {
  get(): Lang;
  set(lang: Lang): void;
  subscribe(listener: (lang: Lang) => void): () => void;
}

/**
 * The chosen language. Storage may be missing or throw (Safari private mode, storage disabled by
 * policy): the choice then lasts for the page only.
 */
export function createLangStore(storage: Pick<Storage, 'getItem' | 'setItem'> | null = globalThis.localStorage ?? null): LangStore {
  let current: Lang = DEFAULT_LANG;
  try {
    const saved = storage?.getItem(STORAGE_KEY);
    if (isLang(saved)) current = saved;
  } catch {
    // Unreadable storage: keep the default.
  }
  const listeners = new Set<(lang: Lang) => void>();
  return {
    get: () => current,
    set(lang) {
      if (lang === current) return;
      current = lang;
      try {
        storage?.setItem(STORAGE_KEY, lang);
      } catch {
        // Unwritable storage: the choice still applies to this page.
      }
      for (const listener of listeners) listener(lang);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
