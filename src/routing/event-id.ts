/**
 * Event ids: UUIDs in the version 7 layout (RFC 9562), the first 48 bits the time in ms, the rest
 * random. Time-ordered so the decision log's id index grows at one end: with random (v4) ids every
 * logged decision wrote into a random page of the index, which doubled the log's cost per row.
 * Clients treat them as opaque strings, as before.
 */
import { randomUUID } from 'node:crypto';

export function eventId(nowMs: number): string {
  const t = Math.max(0, Math.floor(nowMs)).toString(16).padStart(12, '0').slice(-12);
  // A v4 UUID's random bits and variant, with the time in front and version 7 in place of 4.
  return `${t.slice(0, 8)}-${t.slice(8)}-7${randomUUID().slice(15)}`;
}
