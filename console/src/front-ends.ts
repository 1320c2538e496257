/**
 * A line saying which front ends take utterances now (GET /front-ends), read again every few
 * seconds while it is shown.
 */
import { messageOf, type Api } from './api.js';
import { fill, h } from './dom.js';

interface FrontEnds {
  readonly http: { readonly state: string };
  readonly wyoming: {
    readonly state: string;
    readonly ports: { readonly host: string; readonly port: number; readonly name: string }[];
    readonly connections: number;
  };
  readonly mqtt: { readonly state: string };
}

const REFRESH_MS = 5000;

export function frontEndStatus(api: Api): { el: HTMLElement; dispose(): void } {
  const el = h('p', { class: 'front-ends', 'data-testid': 'front-ends' }, 'Front ends: …');
  const load = async () => {
    try {
      const f = await api.get<FrontEnds>('/front-ends');
      const wyoming =
        f.wyoming.state === 'off'
          ? 'off'
          : `${f.wyoming.ports.map((p) => `${p.host}:${p.port}`).join(', ')}, ${f.wyoming.connections} connection${f.wyoming.connections === 1 ? '' : 's'}`;
      fill(
        el,
        h('span', {}, h('strong', {}, 'HTTP'), `: ${f.http.state}`),
        h('span', {}, h('strong', {}, 'Wyoming'), `: ${wyoming}`),
        h('span', {}, h('strong', {}, 'MQTT'), `: ${f.mqtt.state}`),
      );
    } catch (err) {
      fill(el, `Front ends: could not read them (${messageOf(err)})`);
    }
  };
  void load();
  const timer = setInterval(() => void load(), REFRESH_MS);
  return { el, dispose: () => clearInterval(timer) };
}
