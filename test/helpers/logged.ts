/** The decision log as the API shows it, read from a test app once the log has written a row. */
import { waitFor } from './wait.js';

interface Requester {
  request(options: {
    method: 'GET';
    url: string;
  }): Promise<{ readonly statusCode: number; json(): { event: unknown } }>;
}

/** The logged event for an answer's event_id, once the log (which writes in batches) has it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, checked field by field
export async function loggedEvent(t: Requester, eventId: string): Promise<any> {
  const res = await waitFor(
    async () => {
      const r = await t.request({ method: 'GET', url: `/events/${eventId}` });
      return r.statusCode === 200 ? r : undefined;
    },
    { what: `event ${eventId} to be logged` },
  );
  return res.json().event;
}
