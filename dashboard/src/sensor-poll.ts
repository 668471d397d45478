// The sensors' latest readings from /sensors: every few seconds while live; once in replay,
// where they are the latest ones whatever the cursor (the list says so). Another pilot forgets them.

import type { MichiApi } from './api.js';
import type { PilotDetail } from './api-types.js';
import type { AppStateReader, AppStateWriter } from './app-state.js';
import { pollLoop, type PollLoop } from './live/poll-loop.js';
import type { SensorListView } from './views/sensor-list.js';

/** The live feed carries vehicles only; the sensors' latest readings are asked for this often. */
const SENSOR_POLL_MS = 5000;

export interface SensorPollDeps {
  state: AppStateReader;
  writer: AppStateWriter<'sensor-poll'>;
  api: MichiApi;
  now: () => number;
  sensorList: SensorListView;
  drawSensorDetail: () => void;
}

export interface SensorPoll {
  start(p: PilotDetail): void;
  stop(): void;
}

export function createSensorPoll({ state, writer, api, now, sensorList, drawSensorDetail }: SensorPollDeps): SensorPoll {
  let sensorPoll: PollLoop | null = null;
  state.subscribe('pilot', () => writer.set('sensorStatuses', []));

  function start(p: PilotDetail): void {
    const once = state.get('mode') === 'replay';
    sensorList.setReplay(once);
    if (p.sensors.length === 0) return;
    const loop: PollLoop = pollLoop(
      (signal) => api.listSensors(p.id, signal),
      {
        data(sensors, at) {
          if (once) loop.stop();
          writer.set('sensorStatuses', sensors);
          sensorList.update(sensors, at);
          state.get('sensorMarkers')?.update(sensors, at);
          drawSensorDetail();
        },
        // The readings shown stay; the list says they could not be refreshed, the loop tries again.
        error: () => sensorList.update(null, now(), true),
      },
      SENSOR_POLL_MS,
      { now },
    );
    sensorPoll = loop;
  }

  return {
    start,
    stop() {
      sensorPoll?.stop();
      sensorPoll = null;
    },
  };
}
