/**
 * A simple 5G link model: the vehicle is served by the cell site with the strongest RSRP (with
 * A3-style hysteresis, so it does not ping-pong between two sites), RSRP comes from a log-distance
 * path-loss model with the site's transmit power, and SINR, RSRQ, throughput and RTT follow from
 * it. Good enough for coverage maps and for link quality to vary along a route; the calibrated
 * model (3GPP TR 38.901 UMi, link loss) replaces it later behind the same `sample` call.
 */
import type { michi } from '@michi/proto';
import { type LonLat, haversineM } from './route-geometry.js';
import type { Random } from './prng.js';

/** What the model needs of a cell site in a pilot definition. */
export interface LinkCellSite {
  id: string;
  position: LonLat;
  cellId: string;
  pci: number;
  band: string;
  txPowerDbm: number;
  heightM?: number;
}

export type LinkMeasurement = Omit<michi.v1.LinkSample.$Properties, 'source_id' | 'ts_ms' | 'seq'>;

export interface LinkModelOptions {
  /** Path-loss exponent: 2 in free space, about 3 in a town street with some blockage. */
  pathLossExponent?: number;
  /** Standard deviation of log-normal shadowing, dB. */
  shadowingSdDb?: number;
  /** Distance over which shadowing decorrelates (Gudmundson), metres. */
  shadowingDecorrelationM?: number;
  /** A neighbour must be this much stronger than the serving cell before a handover (3GPP A3 offset). */
  handoverHysteresisDb?: number;
  /** Network slice the modem reports. */
  slice?: string;
  /** Places with extra attenuation (an underpass, a tall building's shadow); the link can drop there. */
  deadZones?: readonly DeadZone[];
  /** Below this RSRP the modem loses the link (radio link failure) and makes no sample, dBm. */
  linkLossRsrpDbm?: number;
}

/** A circle where every cell is received `lossDb` weaker, fading out linearly over its last 20 %. */
export interface DeadZone {
  center: LonLat;
  radiusM: number;
  /** Extra attenuation at the centre, dB (default 40: an underpass). */
  lossDb?: number;
}

const SPEED_OF_LIGHT = 299_792_458;
const UE_HEIGHT_M = 1.5;
/** Antenna gain of a sector antenna on a small cell, dBi. */
const ANTENNA_GAIN_DBI = 15;
/** RSRP is the power of one resource element: 100 MHz at 30 kHz is 273 PRBs × 12 subcarriers. */
const RESOURCE_ELEMENTS_DB = 10 * Math.log10(273 * 12);
/** Thermal noise in one 30 kHz subcarrier (-174 dBm/Hz) plus a 7 dB UE noise figure. */
const NOISE_PER_RE_DBM = -174 + 10 * Math.log10(30e3) + 7;
/** Neighbour cells transmit on half their resources on average. */
const NEIGHBOUR_LOAD = 0.5;
const BANDWIDTH_HZ = 100e6;
/** Share of the cell's capacity one vehicle gets. */
const USER_SHARE = 0.3;

/**
 * The best cell's RSRP under a scripted degradation, dBm: 10 dB below the −110 dBm at which michi's
 * link-degraded alarm is raised by default, 5 dB above the radio link failure (linkLossRsrpDbm), so
 * that fast fading (σ 1 dB) neither lifts a sample over the one nor drops the link at the other.
 */
const DEGRADED_RSRP_DBM = -120;

/** Centre frequencies of the NR bands a Japanese pilot uses; others fall back to 3.7 GHz. */
const BAND_HZ: Record<string, number> = {
  n28: 780e6,
  n77: 3.9e9,
  n78: 3.7e9,
  n79: 4.75e9, // local 5G Sub6 (4.6-4.9 GHz)
  n257: 28.5e9, // local 5G mmWave (28.2-29.1 GHz)
};

function clamp(v: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, v));
}

function dbToLinear(db: number): number {
  return 10 ** (db / 10);
}

export class LinkModel {
  private readonly sites: readonly LinkCellSite[];
  private readonly rng: Random;
  private readonly exponent: number;
  private readonly shadowSd: number;
  private readonly decorrelationM: number;
  private readonly hysteresisDb: number;
  private readonly slice: string;
  /** Per-site shadowing, dB, correlated over distance travelled. */
  private readonly shadowing: number[];
  private serving: number | undefined;
  private readonly deadZones: readonly DeadZone[];
  private readonly linkLossDbm: number;
  /** Whether the last `sample` found no usable cell. */
  lost = false;
  /**
   * A scripted degradation (alarm-triggers.ts): every cell received so weakly that the best one is
   * at DEGRADED_RSRP_DBM, as deep in a dead zone, yet still connected, so samples keep coming.
   */
  degraded = false;

  constructor(sites: readonly LinkCellSite[], rng: Random, opts: LinkModelOptions = {}) {
    this.sites = sites;
    this.rng = rng;
    this.exponent = opts.pathLossExponent ?? 3.2;
    this.shadowSd = opts.shadowingSdDb ?? 4;
    this.decorrelationM = opts.shadowingDecorrelationM ?? 30;
    this.hysteresisDb = opts.handoverHysteresisDb ?? 3;
    this.slice = opts.slice ?? 'eMBB';
    this.shadowing = sites.map(() => rng.normal(0, this.shadowSd));
    this.deadZones = opts.deadZones ?? [];
    this.linkLossDbm = opts.linkLossRsrpDbm ?? -125;
  }

  get hasCoverage(): boolean {
    return this.sites.length > 0;
  }

  /** Path loss to a site, dB: free space over the first metre, then `exponent` × 10 dB per decade. */
  pathLossDb(site: LinkCellSite, at: LonLat): number {
    const ground = haversineM(site.position, at);
    const dz = (site.heightM ?? 10) - UE_HEIGHT_M;
    const d = Math.max(1, Math.hypot(ground, dz));
    const f = BAND_HZ[site.band] ?? 3.7e9;
    const fspl1m = 20 * Math.log10((4 * Math.PI * f) / SPEED_OF_LIGHT);
    return fspl1m + 10 * this.exponent * Math.log10(d);
  }

  /** Extra attenuation at `at` from the dead zones, dB. */
  deadZoneLossDb(at: LonLat): number {
    let loss = 0;
    for (const z of this.deadZones) {
      const d = haversineM(z.center, at);
      if (d >= z.radiusM) continue;
      const edge = Math.min(1, (z.radiusM - d) / (0.2 * z.radiusM));
      loss = Math.max(loss, (z.lossDb ?? 40) * edge);
    }
    return loss;
  }

  /**
   * One measurement at `at`, after the modem moved `movedM` metres since the previous one.
   * Undefined when the pilot has no cell sites, or when the link is lost (`lost` tells which).
   */
  sample(at: LonLat, movedM: number): LinkMeasurement | undefined {
    if (this.sites.length === 0) return undefined;
    // AR(1) shadowing: correlation exp(-d/d_corr) keeps the variance at shadowSd².
    const rho = Math.exp(-Math.max(0, movedM) / this.decorrelationM);
    const innovation = Math.sqrt(1 - rho * rho) * this.shadowSd;
    const rsrp = this.sites.map((site, i) => {
      const shadow = rho * this.shadowing[i]! + this.rng.normal(0, innovation);
      this.shadowing[i] = shadow;
      return site.txPowerDbm - RESOURCE_ELEMENTS_DB + ANTENNA_GAIN_DBI - this.pathLossDb(site, at) - shadow;
    });
    const zoneLoss = this.deadZones.length > 0 ? this.deadZoneLossDb(at) : 0;
    if (zoneLoss > 0) for (let i = 0; i < rsrp.length; i++) rsrp[i] = rsrp[i]! - zoneLoss;
    if (this.degraded) {
      const excess = Math.max(...rsrp) - DEGRADED_RSRP_DBM;
      if (excess > 0) for (let i = 0; i < rsrp.length; i++) rsrp[i] = rsrp[i]! - excess;
    }
    let best = 0;
    rsrp.forEach((v, i) => {
      if (v > rsrp[best]!) best = i;
    });
    if (rsrp[best]! < this.linkLossDbm) {
      // Radio link failure: no serving cell; the next sample after recovery reports a handover.
      this.lost = true;
      return undefined;
    }
    this.lost = false;
    const previous = this.serving;
    if (previous === undefined || rsrp[best]! > rsrp[previous]! + this.hysteresisDb) this.serving = best;
    const serving = this.serving!;
    const site = this.sites[serving]!;

    // Fast fading on top of the slow shadowing: what makes consecutive samples differ at a stop.
    const signalDbm = rsrp[serving]! + this.rng.normal(0, 1);
    const interferenceMw = rsrp.reduce((sum, v, i) => (i === serving ? sum : sum + NEIGHBOUR_LOAD * dbToLinear(v)), 0);
    const sinrDb = clamp(10 * Math.log10(dbToLinear(signalDbm) / (dbToLinear(NOISE_PER_RE_DBM) + interferenceMw)), -23, 40);
    const sinr = dbToLinear(sinrDb);
    // RSRQ = N·RSRP/RSSI (TS 38.215 §5.1.3): -10.8 dB on a fully loaded carrier, less as noise grows.
    const rsrqDb = clamp(-10 * Math.log10(12) + 10 * Math.log10(sinr / (1 + sinr)), -43, -3);
    // Shannon capacity at 60 % efficiency, capped at 256-QAM's 7.4 bit/s/Hz; TDD gives uplink ~1/5.
    const spectralEff = Math.min(7.4, 0.6 * Math.log2(1 + sinr));
    const dlMbps = (BANDWIDTH_HZ * spectralEff * USER_SHARE) / 1e6;
    const ulMbps = dlMbps / 5;
    const rttMs = 8 + Math.max(0, 10 - sinrDb) * 1.5 + Math.abs(this.rng.normal(0, 2));

    return {
      cell_id: site.cellId,
      pci: site.pci,
      band: site.band,
      rsrp_dbm: round1(clamp(signalDbm, -156, -31)),
      rsrq_db: round1(rsrqDb),
      sinr_db: round1(sinrDb),
      rtt_ms: round1(rttMs),
      ul_mbps: round1(ulMbps),
      dl_mbps: round1(dlMbps),
      slice: this.slice,
      handover: previous !== undefined && previous !== serving,
      position: { lon: at[0], lat: at[1] },
    };
  }
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
