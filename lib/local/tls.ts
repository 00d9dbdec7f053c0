/**
 * LOCAL WORLD. TLS for the local endpoints. The backup bucket's policy denies every request
 * with aws:SecureTransport=false, exactly as the program declares it, so the strict store
 * only authorizes requests that arrived over TLS: the local world therefore speaks HTTPS,
 * with a throwaway certificate authority made for the run (selfsigned) and a server
 * certificate for 127.0.0.1 signed by it.
 *
 * Clients trust that CA the way an operator trusts a private CA in front of an on-prem S3:
 *   - another Node process: NODE_EXTRA_CA_CERTS=<caFile> (Node's documented mechanism);
 *   - this process (drill, tests): an undici dispatcher with the system roots plus the CA;
 *   - workerd (Miniflare): the Worker's outbound network service trusts the CA.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { rootCertificates } from "node:tls";

export interface LocalTls {
  /** PEM of the throwaway CA: what clients must trust. */
  readonly caPem: string;
  /** File holding caPem, for NODE_EXTRA_CA_CERTS. */
  readonly caFile: string;
  /** Server certificate (for 127.0.0.1 and localhost) and its key. */
  readonly certPem: string;
  readonly keyPem: string;
}

/** Makes a CA valid for two days and a server certificate signed by it; writes the CA to dir. */
export async function createLocalTls(dir: string): Promise<LocalTls> {
  // selfsigned is a development dependency: the local world is not part of what ships.
  const selfsigned = require("selfsigned") as typeof import("selfsigned");
  const now = new Date(Date.now() - 60_000);
  const until = new Date(now.getTime() + 2 * 86_400_000);
  const ca = await selfsigned.generate([{ name: "commonName", value: "dr-posture local world CA" }], {
    keyType: "ec",
    algorithm: "sha256",
    notBeforeDate: now,
    notAfterDate: until,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await selfsigned.generate([{ name: "commonName", value: "127.0.0.1" }], {
    keyType: "ec",
    algorithm: "sha256",
    notBeforeDate: now,
    notAfterDate: until,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }, { type: 2, value: "localhost" }] },
    ],
  });
  mkdirSync(dir, { recursive: true });
  const caFile = path.join(dir, "local-world-ca.pem");
  writeFileSync(caFile, ca.cert);
  return { caPem: ca.cert, caFile, certPem: server.cert, keyPem: server.private };
}

/** Makes this process's fetch (undici) trust the CA in addition to the system roots. */
export async function trustInThisProcess(caPem: string): Promise<void> {
  const { Agent, setGlobalDispatcher } = require("undici") as typeof import("undici");
  setGlobalDispatcher(new Agent({ connect: { ca: [...rootCertificates, caPem] } }));
}

/** Miniflare `outboundService` for a Worker that must reach the local HTTPS endpoints: the
 * same network service Miniflare uses by default (public and private addresses), plus the CA. */
export function workerdOutbound(caPem: string): { network: { allow: string[]; tlsOptions: { trustBrowserCas: boolean; trustedCertificates: string[] } } } {
  return { network: { allow: ["public", "private", "local"], tlsOptions: { trustBrowserCas: true, trustedCertificates: [caPem] } } };
}
