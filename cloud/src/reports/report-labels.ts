/**
 * The words of a report in Japanese and English: column headings, the header block's labels, and
 * event causes (EventCause without its prefix, as the dashboard names them). A cause not listed
 * here (added to the proto later) is shown as its enum name rather than dropped.
 */
import type { ReportColumn, ReportLang } from '@michi/proto';

export const COLUMN_LABELS: Record<ReportLang, Record<ReportColumn, string>> = {
  ja: {
    date: '日付',
    distance_km: '走行距離 (km)',
    autonomous_distance_km: '自動運転距離 (km)',
    autonomous_share: '自動運転率 (%)',
    takeovers: 'テイクオーバー (件)',
    disengagements: '自動運転解除 (件)',
    emergency_stops: '緊急停止 (件)',
    takeovers_per_100km: 'テイクオーバー (100 km あたり)',
    availability: '稼働率 (%)',
    rsrp_dbm_p50: 'RSRP 中央値 (dBm)',
    rsrp_dbm_p5: 'RSRP 5% (dBm)',
    sinr_db_p50: 'SINR 中央値 (dB)',
    sinr_db_p5: 'SINR 5% (dB)',
    rtt_ms_p50: 'RTT 中央値 (ms)',
    readings_received: '受信データ数',
    readings_expected: '送信データ数',
  },
  en: {
    date: 'Date',
    distance_km: 'Distance (km)',
    autonomous_distance_km: 'Autonomous distance (km)',
    autonomous_share: 'Autonomous share (%)',
    takeovers: 'Takeovers',
    disengagements: 'Disengagements',
    emergency_stops: 'Emergency stops',
    takeovers_per_100km: 'Takeovers per 100 km',
    availability: 'Availability (%)',
    rsrp_dbm_p50: 'RSRP median (dBm)',
    rsrp_dbm_p5: 'RSRP 5th percentile (dBm)',
    sinr_db_p50: 'SINR median (dB)',
    sinr_db_p5: 'SINR 5th percentile (dB)',
    rtt_ms_p50: 'RTT median (ms)',
    readings_received: 'Readings received',
    readings_expected: 'Readings sent',
  },
};

export const SHEET_LABELS = {
  ja: {
    title: '自動運転実証 運行報告',
    pilot: '実証',
    municipality: '自治体',
    range: '期間',
    timezone: 'タイムゾーン',
    generatedAt: '作成日時',
    totals: '合計',
    takeoversByCause: 'テイクオーバーの要因',
    disengagementsByCause: '自動運転解除の要因',
    cause: '要因',
    count: '件数',
    per100km: '100 km あたり',
    totalsFromDays:
      '※ 期間の読み取り量が上限を超えたため、合計は日ごとの値から算出しました（日をまたぐ区間の距離を含まず、5G の中央値・5% は空欄）。',
  },
  en: {
    title: 'Autonomous driving pilot: operations report',
    pilot: 'Pilot',
    municipality: 'Municipality',
    range: 'Period',
    timezone: 'Time zone',
    generatedAt: 'Generated at',
    totals: 'Total',
    takeoversByCause: 'Takeovers by cause',
    disengagementsByCause: 'Disengagements by cause',
    cause: 'Cause',
    count: 'Count',
    per100km: 'Per 100 km',
    totalsFromDays:
      'Note: the range holds more readings than one query may read; the totals are combined from the days (without the distance across midnights; 5G medians and 5th percentiles left empty).',
  },
} as const satisfies Record<ReportLang, Record<string, string>>;

const CAUSES: Record<string, { ja: string; en: string }> = {
  UNSPECIFIED: { ja: '不明', en: 'Unspecified' },
  PERCEPTION: { ja: '認識', en: 'Perception' },
  LOCALIZATION: { ja: '自己位置推定', en: 'Localization' },
  PLANNING: { ja: '経路計画', en: 'Planning' },
  PARKED_VEHICLE: { ja: '路上駐車車両', en: 'Parked vehicle' },
  PEDESTRIAN: { ja: '歩行者', en: 'Pedestrian' },
  OTHER_ROAD_USER: { ja: '他の交通参加者', en: 'Other road user' },
  WEATHER: { ja: '天候', en: 'Weather' },
  ROAD_WORKS: { ja: '道路工事', en: 'Road works' },
  SYSTEM_FAULT: { ja: 'システム異常', en: 'System fault' },
  COMMUNICATION: { ja: '通信', en: 'Communication' },
  DRIVER_PRECAUTION: { ja: '運転者の予防的判断', en: 'Driver precaution' },
  OTHER: { ja: 'その他', en: 'Other' },
};

export function causeLabel(cause: string, lang: ReportLang): string {
  return CAUSES[cause]?.[lang] ?? cause;
}
