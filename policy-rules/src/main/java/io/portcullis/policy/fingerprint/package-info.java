/**
 * TLS client fingerprints: {@link io.portcullis.policy.fingerprint.Ja4} checks the shape of a JA4
 * fingerprint, {@link io.portcullis.policy.fingerprint.FingerprintSet} holds many of them and answers
 * membership, ignoring case, without allocating.
 */
package io.portcullis.policy.fingerprint;
