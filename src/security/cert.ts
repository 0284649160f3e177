/**
 * A development TLS certificate (spec/server.md §10): self-signed ECDSA
 * P-256, `CA:false`, key usage digitalSignature, extended key usage
 * serverAuth, subject alternative names localhost, 127.0.0.1, ::1 and any
 * extra host names. It is an end-entity certificate, never a CA (the
 * earlier project made a CA, so trusting it trusted anything it signed).
 * Built with npm `@peculiar/x509` on WebCrypto.
 *
 * @module
 */
import "reflect-metadata"; // @peculiar/x509's dependency injection needs it
import * as x509 from "@peculiar/x509";
import { parseIp } from "./ip.ts";

/** A generated certificate and its key, PEM encoded. */
export interface DevCertificate {
  certPem: string;
  keyPem: string;
  notAfter: Date;
  /** `DNS:…` / `IP:…` names it is valid for. */
  names: string[];
}

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** Makes a certificate for localhost, 127.0.0.1, ::1 and `hosts`, valid `days` from `now`. */
export async function createDevCertificate(options: {
  hosts: readonly string[];
  days: number;
  now: Date;
}): Promise<DevCertificate> {
  const names = [...new Set(["localhost", "127.0.0.1", "::1", ...options.hosts])];
  const alternatives = names.map((name) => {
    const ip = parseIp(name);
    return ip
      ? { type: "ip" as const, value: ip.toString() }
      : { type: "dns" as const, value: name };
  });
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const serial = Array.from(crypto.getRandomValues(new Uint8Array(16)))
    .map((byte) => byte.toString(16).padStart(2, "0")).join("").replace(/^[89a-f]/, "7");
  const notAfter = new Date(options.now.getTime() + options.days * 86_400_000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: "CN=Synth Mind development certificate",
    notBefore: new Date(options.now.getTime() - 60_000),
    notAfter,
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(alternatives, false),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    certPem: certificate.toString("pem") + "\n",
    keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n",
    notAfter,
    names: alternatives.map((name) => `${name.type === "ip" ? "IP" : "DNS"}:${name.value}`),
  };
}

/** What a certificate says about itself (tests and the CLI's summary). */
export function describeCertificate(pem: string): {
  ca: boolean;
  names: string[];
  serverAuth: boolean;
  notAfter: Date;
  algorithm: string;
} {
  const certificate = new x509.X509Certificate(pem);
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  const usage = certificate.getExtension(x509.ExtendedKeyUsageExtension);
  return {
    ca: constraints?.ca ?? false,
    names: (san?.names.items ?? []).map((name) =>
      `${name.type === "ip" ? "IP" : "DNS"}:${name.value}`
    ),
    serverAuth: (usage?.usages ?? []).includes(x509.ExtendedKeyUsage.serverAuth),
    notAfter: certificate.notAfter,
    algorithm: `${certificate.publicKey.algorithm.name} ${
      (certificate.publicKey.algorithm as EcKeyAlgorithm).namedCurve ?? ""
    }`.trim(),
  };
}
