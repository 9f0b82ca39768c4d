/** Messages between the fleet simulator's coordinator and its worker processes. */

export interface RobotSpec {
  index: number;
  /** The server this robot enrols with and talks to (a replica, when there are several). */
  server: string;
  token: string;
}

export type ToWorker =
  | { type: 'start'; robots: RobotSpec[]; scratch: string; spreadMs: number }
  | { type: 'cpu' }
  | { type: 'stop' };

export type Observation =
  | { type: 'ready'; at: number }
  | { type: 'started'; index: number; at: number }
  | { type: 'failed'; index: number; at: number; message: string }
  | { type: 'connected'; index: number; at: number }
  | { type: 'lost'; index: number; at: number }
  | { type: 'problem'; index: number; at: number; message: string }
  | { type: 'reported'; index: number; at: number; deploymentId: string; status: string }
  | { type: 'all-started'; at: number; cpu: NodeJS.CpuUsage }
  | { type: 'cpu'; at: number; cpu: NodeJS.CpuUsage; rss: number };

export type FromWorker = Observation | { type: 'batch'; messages: Observation[] };
