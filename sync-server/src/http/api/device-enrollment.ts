import { DeviceChallengeRequest, DeviceEnrollRequest, type DeviceChallenge, type DeviceEnrollResponse } from '@depotline/shared';
import type { LoginThrottle } from '../../auth/throttle';
import { enrollDevice, issueDeviceChallenge } from '../../devices/enrollment';
import { type Endpoint, publicEndpoint } from '../endpoint';

/**
 * Device enrollment, before any session (docs/api.md "Device enrollment"): a console registers
 * its public key with a one-time token, and an enrolled console asks for the challenge it signs
 * at sign-in. Both spend the per-address sign-in budget (`throttle`), like every other door
 * before a session.
 */
export function deviceEnrollmentEndpoints(throttle: LoginThrottle): Endpoint[] {
  return [
    publicEndpoint({
      method: 'post',
      path: '/devices/enroll',
      status: 201,
      body: DeviceEnrollRequest,
      handle: async ({ ctx, input, ip }): Promise<DeviceEnrollResponse> => {
        await throttle.consumeAttempt(ctx.rateLimits, ip);
        return { device: await enrollDevice(ctx, input.body, ip) };
      },
    }),
    publicEndpoint({
      method: 'post',
      path: '/auth/device-challenge',
      body: DeviceChallengeRequest,
      handle: async ({ ctx, input, ip }): Promise<DeviceChallenge> => {
        await throttle.consumeAttempt(ctx.rateLimits, ip);
        return issueDeviceChallenge(ctx, input.body.enrolledDeviceId);
      },
    }),
  ];
}
