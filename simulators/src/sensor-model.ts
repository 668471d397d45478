/**
 * A roadside sensor of a pilot (seeds: lidar, camera, radar, weather, counter) as michi.v1
 * SensorReading bodies: counts per reporting interval drawn from Poisson processes whose intensity
 * wanders slowly (traffic comes in waves), and measures that follow from them (queue length, mean
 * speed, occupancy) or drift on their own (weather). Counts and measures only, never images.
 */
import { v1, type michi } from '@michi/proto';
import type { Random } from './prng.js';

export type SensorKindName = 'lidar' | 'camera' | 'radar' | 'weather' | 'counter';

type SensorReadingProps = michi.v1.SensorReading.$Properties;

const KIND: Record<SensorKindName, michi.v1.SensorKind> = {
  lidar: v1.SensorKind.SENSOR_KIND_LIDAR,
  camera: v1.SensorKind.SENSOR_KIND_CAMERA,
  radar: v1.SensorKind.SENSOR_KIND_RADAR,
  weather: v1.SensorKind.SENSOR_KIND_WEATHER,
  counter: v1.SensorKind.SENSOR_KIND_COUNTER,
};

/** Mean arrivals per hour at a town-centre intersection. */
const PER_HOUR = { pedestrians: 600, cyclists: 150, vehicles: 900 } as const;

/** A Poisson draw: Knuth's method for small means, a rounded normal beyond (error < 1 %). */
export function poisson(rng: Random, mean: number): number {
  if (!(mean > 0)) return 0;
  if (mean > 30) return Math.max(0, Math.round(rng.normal(mean, Math.sqrt(mean))));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rng.next();
  while (p > limit) {
    k++;
    p *= rng.next();
  }
  return k;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export class SensorModel {
  readonly id: string;
  readonly kind: SensorKindName;
  private readonly rng: Random;
  /** Traffic intensity as a share of PER_HOUR, a mean-reverting random walk around 1. */
  private intensity: number;
  private temperatureC: number;
  private rainMmH = 0;
  private sinceLastS = 0;

  constructor(id: string, kind: SensorKindName, rng: Random) {
    this.id = id;
    this.kind = kind;
    this.rng = rng;
    this.intensity = rng.uniform(0.6, 1.4);
    this.temperatureC = rng.uniform(5, 28);
  }

  /** Advances by dtS seconds: the traffic intensity and the weather drift. */
  step(dtS: number): void {
    if (!(dtS > 0)) return;
    this.sinceLastS += dtS;
    const k = Math.min(1, dtS / 600); // reverts over ~10 minutes
    this.intensity = Math.max(0.1, this.intensity + k * (1 - this.intensity) + this.rng.normal(0, 0.05 * Math.sqrt(dtS / 60)));
    this.temperatureC += this.rng.normal(0, 0.02 * Math.sqrt(dtS));
    // Rain starts rarely and stops after a while.
    if (this.rainMmH === 0 && this.rng.next() < dtS / 7200) this.rainMmH = this.rng.uniform(0.5, 8);
    else if (this.rainMmH > 0 && this.rng.next() < dtS / 1800) this.rainMmH = 0;
  }

  /** What the sensor measured since its previous reading. */
  reading(tsMs: number, seq: number): SensorReadingProps {
    const intervalS = Math.max(this.sinceLastS, 0.05);
    this.sinceLastS = 0;
    const arrivals = (what: keyof typeof PER_HOUR): number => poisson(this.rng, (PER_HOUR[what] * this.intensity * intervalS) / 3600);
    const counts: Record<string, number> = {};
    const measures: Record<string, number> = {};
    switch (this.kind) {
      case 'lidar': {
        counts['pedestrians'] = arrivals('pedestrians');
        counts['cyclists'] = arrivals('cyclists');
        counts['vehicles'] = arrivals('vehicles');
        measures['queue_length_m'] = round(Math.max(0, this.rng.normal(40 * (this.intensity - 0.5), 6)), 1);
        measures['mean_speed_kmh'] = round(Math.max(0, this.rng.normal(40 - 15 * this.intensity, 3)), 1);
        measures['occupancy_pct'] = round(Math.min(100, Math.max(0, this.rng.normal(25 * this.intensity, 4))), 1);
        break;
      }
      case 'camera':
        counts['pedestrians'] = arrivals('pedestrians');
        counts['cyclists'] = arrivals('cyclists');
        counts['vehicles'] = arrivals('vehicles');
        break;
      case 'radar':
        counts['vehicles'] = arrivals('vehicles');
        measures['mean_speed_kmh'] = round(Math.max(0, this.rng.normal(40 - 15 * this.intensity, 3)), 1);
        measures['max_speed_kmh'] = round(Math.max(0, this.rng.normal(58 - 10 * this.intensity, 5)), 1);
        break;
      case 'weather':
        measures['temperature_c'] = round(this.temperatureC, 1);
        measures['humidity_pct'] = round(
          Math.min(100, Math.max(10, this.rainMmH > 0 ? this.rng.normal(92, 3) : this.rng.normal(60, 5))),
          1,
        );
        measures['rain_mm_h'] = round(this.rainMmH > 0 ? Math.max(0, this.rng.normal(this.rainMmH, 0.5)) : 0, 1);
        measures['wind_mps'] = round(Math.abs(this.rng.normal(3, 1.5)), 1);
        measures['visibility_m'] = Math.round(this.rainMmH > 0 ? 2_000 / (1 + this.rainMmH / 4) : 10_000);
        measures['road_surface_c'] = round(this.temperatureC + (this.rainMmH > 0 ? -1 : 3), 1);
        break;
      case 'counter':
        counts['vehicles'] = arrivals('vehicles');
        counts['pedestrians'] = arrivals('pedestrians');
        break;
    }
    return { source_id: this.id, ts_ms: tsMs, seq, sensor_kind: KIND[this.kind], counts, measures };
  }
}
