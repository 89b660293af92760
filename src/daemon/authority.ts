// The daemon's CA, loaded at start, used to issue client certificates on request.
/** Issues client certificates signed by the daemon's CA. */
export interface CertificateAuthority {
  caPem: string;
  issueClient(user: string, role: 'admin' | 'user' | 'viewer', days: number | undefined): { certPem: string; keyPem: string; serial: string; notAfter: Date };
}
