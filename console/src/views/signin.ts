/**
 * Sign in: the API key, and the admin key for changes when the server has one. The key is tried
 * on GET /targets (a wrong one says so) and the admin key on GET /keys, which only the admin key
 * opens; both are kept in session storage only.
 */
import { Api, ApiError, messageOf, saveKeys, type Keys } from '../api.js';
import { field, h, setFieldError } from '../dom.js';

export function signInView(onSignedIn: (keys: Keys) => void, message?: string): HTMLElement {
  const apiKey = field(
    'API key',
    h('input', { type: 'password', name: 'api_key', autocomplete: 'off', required: true }),
    'ECHONET_API_KEY, a key from `echonet keys add`, or the one Echonet printed on first start.',
  );
  const adminKey = field(
    'Admin key (optional)',
    h('input', { type: 'password', name: 'admin_key', autocomplete: 'off' }),
    'ECHONET_ADMIN_KEY, needed to make changes when the server has one.',
  );
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const status = h('div', { class: 'form-status' });
  if (message) status.append(h('p', { class: 'notice notice-info', role: 'status' }, message));

  const form = h(
    'form',
    { class: 'card signin', novalidate: true },
    apiKey.wrap,
    adminKey.wrap,
    h('div', { class: 'actions' }, submit),
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      setFieldError(apiKey, null);
      setFieldError(adminKey, null);
      status.replaceChildren();
      const keys: Keys = {
        apiKey: apiKey.control.value.trim(),
        ...(adminKey.control.value.trim() !== '' && { adminKey: adminKey.control.value.trim() }),
      };
      if (keys.apiKey === '') {
        setFieldError(apiKey, 'Enter the API key.');
        apiKey.control.focus();
        return;
      }
      submit.disabled = true;
      try {
        const api = new Api(keys);
        await api.get('/targets');
        if (keys.adminKey) await checkAdminKey(api);
        saveKeys(keys);
        onSignedIn(keys);
      } catch (err) {
        const wrongAdmin = err instanceof AdminKeyError;
        const f = wrongAdmin ? adminKey : apiKey;
        setFieldError(
          f,
          err instanceof ApiError && err.status === 401 && !wrongAdmin
            ? `That API key is not accepted (${err.message}). Check it and try again.`
            : messageOf(err),
        );
        f.control.focus();
      } finally {
        submit.disabled = false;
      }
    })();
  });
  return h(
    'section',
    { 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title', tabindex: -1 }, 'Sign in to Echonet'),
    h(
      'p',
      { class: 'muted' },
      'The keys stay in this browser tab (session storage) and go only to this Echonet.',
    ),
    form,
  );
}

class AdminKeyError extends Error {}

async function checkAdminKey(api: Api): Promise<void> {
  try {
    await api.get('/keys');
  } catch (err) {
    if (err instanceof ApiError && err.status === 403 && /invalid admin key/.test(err.message)) {
      throw new AdminKeyError(
        'That admin key is not accepted. Leave it empty to sign in without one.',
      );
    }
    // 403 "needs ECHONET_ADMIN_KEY": the server has none, so changes need only the API key.
    if (!(err instanceof ApiError && err.status === 403)) throw err;
  }
}
