/** The few settings entry points read straight from the environment (config/environment.ts), checked before use. */
import { describe, expect, it } from 'vitest';
import { commandLineUser, logLevelSetting, workflowBundleSetting } from '../config/environment';

describe('settings read by the entry points', () => {
  it('LOG_LEVEL: info by default, one of the levels, anything else refused with the list', () => {
    expect(logLevelSetting({})).toEqual({ level: 'info' });
    expect(logLevelSetting({ LOG_LEVEL: 'debug' })).toEqual({ level: 'debug' });
    expect(logLevelSetting({ LOG_LEVEL: 'loud' })).toEqual({
      problem: 'LOG_LEVEL: "loud" is not a log level (fatal, error, warn, info, debug, trace, silent)',
    });
  });

  it('OSHIRASE_WORKFLOW_BUNDLE only when set, and the command line user for the audit log', () => {
    expect(workflowBundleSetting({})).toBeUndefined();
    expect(workflowBundleSetting({ OSHIRASE_WORKFLOW_BUNDLE: '/srv/bundle.js' })).toBe('/srv/bundle.js');
    expect(commandLineUser({ USER: 'tanaka' })).toBe('tanaka');
    expect(commandLineUser({ LOGNAME: 'sato' })).toBe('sato');
    expect(commandLineUser({})).toBe('unknown');
  });
});
