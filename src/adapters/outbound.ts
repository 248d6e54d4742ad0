import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector } from 'undici';

/**
 * Calls to addresses our users choose (a borrower's webhook), guarded against server-side request
 * forgery: a credit officer must not be able to make the service POST to itself, to the cloud's
 * metadata service (169.254.169.254) or to anything else on the bank's own networks.
 *
 * - Only https, unless the operator allows plain http (ZALOG_OUTBOUND_ALLOW_HTTP, for tests).
 * - Every address the host name resolves to must be public unicast: loopback, private, link-local,
 *   carrier-grade NAT, multicast, broadcast, reserved, documentation and unspecified ranges (IPv4,
 *   IPv6, and IPv4 inside IPv6) are refused, unless the operator allow-lists a range for it
 *   (ZALOG_OUTBOUND_ALLOW, CIDRs).
 * - Checked when the URL is saved, and again at every delivery inside the connection's own DNS
 *   lookup (the undici Agent's `connect.lookup`): the address checked is the address connected
 *   to, so a name that resolves to a public address at save time and to 127.0.0.1 later (DNS
 *   rebinding) is refused at delivery.
 */

export interface OutboundPolicy {
  /** Plain http allowed (tests, a bank's internal relay over a trusted network). */
  readonly allowHttp: boolean;
  /** CIDR ranges the operator allows although they are not public. */
  readonly allow: readonly string[];
}

export const STRICT_OUTBOUND: OutboundPolicy = { allowHttp: false, allow: [] };

type Parsed = ipaddr.IPv4 | ipaddr.IPv6;

function allowedRange(address: Parsed, allow: readonly string[]): boolean {
  return allow.some((cidr) => {
    try {
      const [range, bits] = ipaddr.parseCIDR(cidr);
      const candidate = address.kind() === range.kind() ? address : address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
      return candidate.kind() === range.kind() && candidate.match([range, bits] as [Parsed, number]);
    } catch {
      return false;
    }
  });
}

/** Why a service may not connect to this IP address, or undefined when it is public unicast (or allowed). */
export function addressProblem(text: string, policy: OutboundPolicy): string | undefined {
  if (!ipaddr.isValid(text)) return `"${text}" is not an IP address`;
  let address: Parsed = ipaddr.parse(text);
  if (allowedRange(address, policy.allow)) return undefined;
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address();
  const range = address.range();
  return range === 'unicast' ? undefined : `${text} is a ${range} address, not a public one`;
}

export function isValidCidr(text: string): boolean {
  try {
    ipaddr.parseCIDR(text);
    return true;
  } catch {
    return false;
  }
}

/** Why a URL may not be called (scheme, form), before any lookup; undefined when its form is fine. */
export function urlProblem(text: string, policy: OutboundPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) return policy.allowHttp ? 'the URL must be http or https' : 'the URL must be https';
  if (url.username !== '' || url.password !== '') return 'the URL must not carry a user name or password';
  return undefined;
}

/** Resolves a host (or reads an IP literal) and checks every address. */
export async function hostProblem(host: string, policy: OutboundPolicy): Promise<string | undefined> {
  const bare = host.replace(/^\[|\]$/g, '');
  const addresses: string[] = ipaddr.isValid(bare) ? [bare] : await new Promise((resolve) => {
    dnsLookup(bare, { all: true }, (error, found: LookupAddress[]) => resolve(error ? [] : found.map((a) => a.address)));
  });
  if (addresses.length === 0) return `the host ${host} does not resolve`;
  for (const address of addresses) {
    const problem = addressProblem(address, policy);
    if (problem !== undefined) return `${host} resolves to ${problem}`;
  }
  return undefined;
}

/** The whole check at save time: the URL's form and where its host points now. */
export async function outboundUrlProblem(text: string, policy: OutboundPolicy): Promise<string | undefined> {
  const form = urlProblem(text, policy);
  if (form !== undefined) return form;
  return hostProblem(new URL(text).hostname, policy);
}

export class OutboundRefused extends Error {
  override readonly name = 'OutboundRefused';
}

/** A DNS lookup that refuses addresses the policy does not allow: the check happens on the address connected to. */
export function guardedLookup(policy: OutboundPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, found: LookupAddress[]) => {
      if (error) return (callback as (e: NodeJS.ErrnoException | null, a: LookupAddress[]) => void)(error, []);
      const refused = found.map((a) => addressProblem(a.address, policy)).find((p) => p !== undefined);
      if (refused !== undefined) return (callback as (e: NodeJS.ErrnoException | null, a: LookupAddress[]) => void)(new OutboundRefused(`${hostname} resolves to ${refused}`), []);
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, found);
      const first = found[0]!;
      return (callback as (e: null, a: string, f: number) => void)(null, first.address, first.family);
    });
  };
}

/** An undici dispatcher whose every connection goes through the guarded lookup (IP literals, which skip DNS, are checked here). */
export function guardedAgent(policy: OutboundPolicy): Agent {
  const connect = buildConnector({ lookup: guardedLookup(policy) });
  return new Agent({
    connect(options: buildConnector.Options, callback: buildConnector.Callback) {
      const host = options.hostname.replace(/^\[|\]$/g, '');
      const problem = ipaddr.isValid(host) ? addressProblem(host, policy) : undefined;
      if (problem !== undefined) {
        callback(new OutboundRefused(problem), null);
        return;
      }
      connect(options, callback);
    },
  });
}
