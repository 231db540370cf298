package io.portcullis.policy.rule;

/**
 * A custom condition kind for {@code rules.yaml}, found through {@link java.util.ServiceLoader}: put
 * the implementation's class name in {@code META-INF/services/io.portcullis.policy.rule.MatchType}
 * on the class path, and rules may use its {@link #key()} like a built-in condition:
 *
 * <pre>{@code
 * - name: privileged-clients
 *   source-port: ["1-1023"]      # key() = "source-port"
 *   action: accept
 * }</pre>
 *
 * <p>Implementations need a public no-argument constructor and must be thread-safe. The
 * {@link Match}es they return run on the event loop for every connection: they must not block,
 * allocate or throw (see {@link Match}).
 */
public interface MatchType {

    /**
     * The rule key this type reads, e.g. {@code source-port}. Must not be a built-in rule key
     * ({@code name, source, port, sni, alpn, tls-fingerprint, pp-authority, pp-tlv, time, action,
     * decision, timeout, rate-limit, concurrency-limit, mode}) or another type's key; a clash is reported
     * as a policy error.
     */
    String key();

    /**
     * Compiles one occurrence of the key. Runs while a policy is compiled (off the event loop).
     *
     * @param value the key's value, with its position in the file
     * @throws MatchValueException when the value is wrong: the message is reported at the exception's
     *                             position ({@code rules.yaml:LINE:COL: message}), so the policy is refused
     */
    Match parse(MatchValue value) throws MatchValueException;
}
