import { describe, expect, it } from 'vitest';
import { loggablePath } from './error-middleware';

describe('the error log', () => {
  it('never holds a tracking token: /t/<token> is logged as /t/:token', () => {
    const token = 'A'.repeat(43);
    expect(loggablePath(`/t/${token}`)).toBe('/t/:token');
    expect(loggablePath(`/t/${token}/status`)).toBe('/t/:token/status');
    expect(loggablePath('/t/assets/track.js')).toBe('/t/assets/track.js');
    expect(loggablePath('/api/v1/stops/s1')).toBe('/api/v1/stops/s1');
  });
});
