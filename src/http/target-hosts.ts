/**
 * ECHONET_TARGET_HOSTS over HTTP: any admin route whose body carries a `base_url` (POST /register
 * today) is refused with 400 when that URL names a host outside the list, before the handler runs.
 * `echonet restore` applies the same policy through validateRegistration.
 */
import type { FastifyInstance } from 'fastify';
import { assertTargetHostAllowed, type RegistrationPolicy } from '../registration.js';

export function registerTargetHostGuard(app: FastifyInstance, policy: RegistrationPolicy): void {
  if (!policy.hostAllowed) return;
  app.addHook('preHandler', async (request) => {
    if (!request.routeOptions.config.admin) return;
    const body = request.body as { base_url?: unknown } | null | undefined;
    if (typeof body?.base_url === 'string') {
      assertTargetHostAllowed(body.base_url, 'body.base_url', policy);
    }
  });
}
