// The public face of pki/: what the daemon, client and CLI use. Import from here; the files behind it
// are one concern each.
export { DEFAULT_DAYS, createCa, issueClientCert, issueServerCert, randomSerial, type CaMaterial, type CertBundle, type TestOverrides } from './certs.ts';
export { RENEW_BEFORE_DAYS, ensureDaemonPki, type DaemonPki, type DaemonPkiOptions } from './daemon-pki.ts';
export { IDENTITY_FILES, identityPaths, readIdentity, writeIdentity, type IdentityPems } from './identity-dir.ts';
export { inspectCert, type CertFacts } from './inspect.ts';
export { LOCAL_NAMES, NAME_RULE, defaultServerNames, parseServerName, parseServerNames } from './names.ts';
export { authenticateSocket, identityFromPeerCertificate, type PeerIdentity } from './peer.ts';
export { TLS13_CIPHERSUITES, tlsClientOptions, tlsServerOptions, type TlsMaterial } from './tls.ts';
