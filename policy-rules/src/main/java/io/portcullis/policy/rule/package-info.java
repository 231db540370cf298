/**
 * Compiled rules: a {@link io.portcullis.policy.rule.Rule} is a name, an action and a list of
 * {@link io.portcullis.policy.rule.Match}es that must all hold. One {@code Match} implementation per
 * condition kind ({@code source} today; port, SNI, ALPN and time windows slot in beside it).
 * Everything here is immutable and evaluated without allocation.
 */
package io.portcullis.policy.rule;
