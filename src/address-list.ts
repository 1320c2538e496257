/**
 * Lists of addresses, CIDR ranges and host names, as ECHONET_ALLOWLIST and ECHONET_TARGET_HOSTS
 * accept them. Addresses and ranges are matched with Node's own net.BlockList (IPv4, IPv6 and
 * IPv4-mapped IPv6 alike); host names are kept as names for the caller to resolve or compare.
 */
import { BlockList, isIP } from 'node:net';

export type AddressRule =
  | { readonly kind: 'address'; readonly address: string; readonly family: Family }
  | {
      readonly kind: 'subnet';
      readonly network: string;
      readonly prefix: number;
      readonly family: Family;
    }
  | { readonly kind: 'host'; readonly host: string };

type Family = 'ipv4' | 'ipv6';

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export const ADDRESS_LIST_ACCEPTS =
  'a comma-separated list of IP addresses, CIDR ranges (192.168.1.0/24, fd00::/8) and host names';

/** One entry, or undefined when it is none of an address, a range or a host name. */
export function parseAddressRule(entry: string): AddressRule | undefined {
  const text = entry.trim();
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const network = unbracket(text.slice(0, slash));
    const prefixText = text.slice(slash + 1);
    const family = familyOf(network);
    if (family === undefined || !/^\d{1,3}$/.test(prefixText)) return undefined;
    const prefix = Number(prefixText);
    if (prefix > (family === 'ipv4' ? 32 : 128)) return undefined;
    return { kind: 'subnet', network, prefix, family };
  }
  const address = unbracket(text);
  const family = familyOf(address);
  if (family !== undefined) return { kind: 'address', address, family };
  const host = normalizeHostName(text);
  // An all-digit last label (10.0.0.256, 1.2.3.4.5) is a mistyped address, not a name.
  const isName = HOST_NAME.test(host) && !/(^|\.)\d+$/.test(host);
  return isName ? { kind: 'host', host } : undefined;
}

/** Every entry of a comma-separated list, or undefined if any entry (or the list) is unusable. */
export function parseAddressList(raw: string): AddressRule[] | undefined {
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.length === 0) return undefined;
  const rules: AddressRule[] = [];
  for (const entry of entries) {
    const rule = parseAddressRule(entry);
    if (rule === undefined) return undefined;
    rules.push(rule);
  }
  return rules;
}

/** A BlockList holding the address and range rules, plus any extra (resolved) addresses. */
export function blockListOf(
  rules: readonly AddressRule[],
  extra: Iterable<string> = [],
): BlockList {
  const list = new BlockList();
  for (const r of rules) {
    if (r.kind === 'address') list.addAddress(r.address, r.family);
    else if (r.kind === 'subnet') list.addSubnet(r.network, r.prefix, r.family);
  }
  for (const address of extra) {
    const family = familyOf(address);
    if (family !== undefined) list.addAddress(address, family);
  }
  return list;
}

/** True when `address` (any textual IP form) is in `list`; false for anything that is not an IP. */
export function blockListHas(list: BlockList, address: string): boolean {
  const family = familyOf(address);
  if (family === undefined) return false;
  try {
    return list.check(address, family);
  } catch {
    return false;
  }
}

export function hostNamesOf(rules: readonly AddressRule[]): string[] {
  return rules.flatMap((r) => (r.kind === 'host' ? [r.host] : []));
}

/** The rule as it would be written in the variable. */
export function ruleText(rule: AddressRule): string {
  switch (rule.kind) {
    case 'address':
      return rule.address;
    case 'subnet':
      return `${rule.network}/${rule.prefix}`;
    case 'host':
      return rule.host;
  }
}

/** Lower case, without a trailing dot or IPv6 brackets: the form names are compared in. */
export function normalizeHostName(host: string): string {
  return unbracket(host.trim().toLowerCase()).replace(/\.$/, '');
}

function familyOf(address: string): Family | undefined {
  const v = isIP(address);
  // Zone ids (fe80::1%eth0) name an interface, not an address a rule can hold.
  if (v === 0 || address.includes('%')) return undefined;
  return v === 4 ? 'ipv4' : 'ipv6';
}

function unbracket(s: string): string {
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
}

/** A test for a host as written in a URL: IPs against the addresses and ranges, names by name. */
export function hostMatcher(rules: readonly AddressRule[]): (host: string) => boolean {
  const list = blockListOf(rules);
  const names = new Set(hostNamesOf(rules));
  return (raw) => {
    const host = normalizeHostName(raw);
    return isIP(host) !== 0 ? blockListHas(list, host) : names.has(host);
  };
}
