// Response links for notices rendered without an outreach (rendering, accessibility and office tests): fixed
// tokens, so the text is the same on every run.
import { tokenNoticeLinks } from '../../engine/outreach/response-links';

export const TEST_NOTICE_LINKS = tokenNoticeLinks('https://city.example', {
  acknowledged: 'acknowledged-test-token',
  applied: 'applied-test-token',
  'not-for-me': 'not-for-me-test-token',
  stop: 'stop-test-token',
});
