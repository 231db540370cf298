package io.portcullis.policy.rule;

import io.portcullis.policy.model.InspectRequest;

/**
 * One condition of a rule, compiled from one key of the rule in {@code rules.yaml} (e.g.
 * {@code source}). A rule matches when all of its conditions hold.
 *
 * <p>Implementations are immutable and thread-safe; {@link #matches} runs on the event loop for
 * every connection, so it must not block, allocate or throw.
 */
public interface Match {

    /**
     * Whether the request meets this condition. Any thread.
     *
     * @param request       the connection being inspected
     * @param sourceAddress the request's source address bytes (4 or 16), computed once per evaluation
     *                      and shared by all conditions; {@code null} when the source is unresolved
     */
    boolean matches(InspectRequest request, byte[] sourceAddress);

    /**
     * Whether this condition holds for every possible connection (e.g. {@code source: [0.0.0.0/0, ::/0]}).
     * Used to find rules that can never match because an earlier rule takes every connection.
     */
    default boolean matchesEverything() {
        return false;
    }

    /**
     * Whether this condition reads what only a TLS peek finds (the ClientHello's SNI, ALPN or JA4
     * fingerprint, see {@link io.portcullis.policy.model.InspectRequest#sni()}). On a listener that does
     * not peek, such a condition never sees a value, so a gateway refuses the rule there. A custom
     * condition that reads {@code sni()}, {@code alpn()} or {@code ja4()} overrides this to return true.
     */
    default boolean needsTlsPeek() {
        return false;
    }

    /**
     * Whether this condition reads what only a PROXY-protocol header carries (its TLVs, see
     * {@link io.portcullis.policy.model.InspectRequest#proxyTlvs()}). On a listener that reads no header,
     * such a condition never sees a value, so a gateway refuses the rule there. A custom condition that
     * reads {@code proxyTlvs()} or {@code proxyAuthority()} overrides this to return true.
     */
    default boolean needsProxyHeader() {
        return false;
    }

    /** The {@code rules.yaml} key this condition was written under, e.g. {@code source}. */
    String key();
}
