/**
 * A fresh certificate authority and serving certificate per server, as a cluster has: clients
 * trust the CA through `certificate-authority-data`, exactly as with EKS.
 */
// @peculiar/x509 resolves its ASN.1 services through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

export interface ServingCertificates {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
type SelfSignedParams = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0];
type CreateParams = x509.X509CertificateCreateWithKeyParams;
/** The WebCrypto type of the DOM library, which this Node project does not load. */
type CryptoProvider = Parameters<typeof x509.X509CertificateGenerator.create>[1] & object;
const YEAR_MS = 365 * 24 * 3600 * 1000;

function toPem(der: ArrayBuffer, label: string): string {
  const base64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${base64.trimEnd()}\n-----END ${label}-----\n`;
}

export async function createServingCertificates(hosts: { ips: string[]; dnsNames: string[] }): Promise<ServingCertificates> {
  x509.cryptoProvider.set(webcrypto as unknown as CryptoProvider);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + YEAR_MS);
  const caKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=kube-local-ca",
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    keys: caKeys as SelfSignedParams["keys"],
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  const serverKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: "CN=kube-apiserver",
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: serverKeys.publicKey as CreateParams["publicKey"],
    signingKey: caKeys.privateKey as CreateParams["signingKey"],
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...hosts.ips.map((value) => ({ type: "ip" as const, value })), ...hosts.dnsNames.map((value) => ({ type: "dns" as const, value }))]),
    ],
  });
  const keyDer = await webcrypto.subtle.exportKey("pkcs8", serverKeys.privateKey);
  return { caPem: ca.toString("pem"), certPem: server.toString("pem"), keyPem: toPem(keyDer, "PRIVATE KEY") };
}
