// Third-party side of shared/tests/signing_interop.rs: checks our tokens and webhooks with
// libraries we did not write (jose, standardwebhooks) and signs a few with them for the Rust
// verifier. Usage: node verify.mjs CASES.json; prints one JSON object of verdicts on stdout.
import { readFileSync } from "node:fs";
import {
  base64url,
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importPKCS8,
  jwtVerify,
  SignJWT,
} from "jose";
import { Webhook } from "standardwebhooks";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
// The Rust side fixes the clock so expiry verdicts do not depend on when the test runs.
const currentDate = new Date(cases.now * 1000);
const claimOptions = { issuer: cases.issuer, audience: cases.audience, currentDate, clockTolerance: 30 };

function failure(err) {
  return { ok: false, code: err.code ?? err.name ?? "Error", claim: err.claim ?? null, message: String(err.message) };
}

async function verifyJwt(c) {
  try {
    // Verified the way a customer would: our published JWKS, or their tenant's HS256 secret.
    const { payload, protectedHeader } =
      c.key === "hs256"
        ? await jwtVerify(c.token, base64url.decode(cases.hs256_secret), { ...claimOptions, algorithms: ["HS256"] })
        : await jwtVerify(c.token, createLocalJWKSet(cases.jwks), claimOptions);
    return { ok: true, payload, header: protectedHeader };
  } catch (err) {
    return failure(err);
  }
}

async function signJwt(c) {
  const key = c.alg === "HS256" ? base64url.decode(cases.hs256_secret) : await importPKCS8(c.pkcs8_pem, "ES256");
  const header = c.kid ? { alg: c.alg, kid: c.kid, typ: "JWT" } : { alg: c.alg, typ: "JWT" };
  return new SignJWT(c.claims).setProtectedHeader(header).sign(key);
}

function verifyWebhook(c) {
  try {
    // standardwebhooks checks the timestamp against the real clock (5 minutes either way).
    const payload = new Webhook(c.secret).verify(c.body, c.headers);
    return { ok: true, payload };
  } catch (err) {
    return failure(err);
  }
}

const out = { jwt: {}, jwt_sign: {}, thumbprints: {}, keygen: null, webhook_verify: {}, webhook_sign: {} };
if (cases.keygen) {
  // A P-256 key made outside Rust, as ops would provision one: its PKCS#8 PEM and public JWK.
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  out.keygen = { pkcs8_pem: await exportPKCS8(privateKey), jwk: await exportJWK(publicKey) };
}
for (const c of cases.jwt ?? []) out.jwt[c.name] = await verifyJwt(c);
for (const c of cases.jwt_sign ?? []) out.jwt_sign[c.name] = await signJwt(c);
// RFC 7638 thumbprints, which our generated kids are meant to equal.
for (const k of cases.jwks?.keys ?? []) out.thumbprints[k.kid] = await calculateJwkThumbprint(k);
for (const c of cases.webhook_verify ?? []) out.webhook_verify[c.name] = verifyWebhook(c);
for (const c of cases.webhook_sign ?? []) {
  out.webhook_sign[c.name] = new Webhook(c.secret).sign(c.id, new Date(c.timestamp * 1000), c.body);
}
process.stdout.write(JSON.stringify(out));
