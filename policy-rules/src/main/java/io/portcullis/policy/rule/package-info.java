/**
 * Compiled rules: a {@link io.portcullis.policy.rule.Rule} is a name, a list of
 * {@link io.portcullis.policy.rule.Match}es that must all hold, and either a verdict or a limiter, in
 * a {@link io.portcullis.policy.rule.RuleMode}. One {@code Match} per condition kind: source, port,
 * SNI, ALPN, TLS fingerprint, PROXY authority, PROXY TLV, time window; custom kinds plug in through the {@link io.portcullis.policy.rule.MatchType}
 * service. Everything here is immutable and evaluated without allocation.
 */
package io.portcullis.policy.rule;
