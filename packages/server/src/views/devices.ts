import { DEVICE_STATUSES } from '@bosun/core';
import { Type } from '@sinclair/typebox';
import { NullableTimestamp, Timestamp } from '../http/schemas.ts';
import { toDevice } from '../wire/devices.ts';
import { plainView } from './view.ts';

export const Device = Type.Object(
  {
    object: Type.Literal('device'),
    id: Type.String({ examples: ['dvc_123'] }),
    name: Type.String(),
    status: Type.Union(DEVICE_STATUSES.map((s) => Type.Literal(s))),
    agent_version: Type.Union([Type.String(), Type.Null()]),
    last_connected_at: NullableTimestamp('When the agent last opened a connection.'),
    last_disconnected_at: NullableTimestamp('When the agent connection last dropped.'),
    created_at: Timestamp('When the device was created.'),
    updated_at: Timestamp('When the device was last updated.'),
  },
  { $id: 'Device', title: 'Device' },
);

export { toDevice };

export type DeviceView = ReturnType<typeof toDevice>;

export const deviceView = plainView('device', 'device', toDevice);

export const TokenResponse = Type.Object(
  {
    token: Type.String({ description: 'The token; shown only in this response.', examples: ['bsn_act_...'] }),
    expires_at: Timestamp('When the token stops working.'),
  },
  { $id: 'TokenResponse', title: 'Token Response' },
);

export const PingDeviceResponse = Type.Object(
  {
    code: Type.Union([Type.Literal('success'), Type.Literal('timeout')], {
      description: 'The result of the ping operation.',
    }),
    round_trip_nanos: Type.Optional(
      Type.Integer({
        description: 'Round trip to the agent and back, in nanoseconds. Only present on success.',
      }),
    ),
  },
  { $id: 'PingDeviceResponse', title: 'Ping Device' },
);
