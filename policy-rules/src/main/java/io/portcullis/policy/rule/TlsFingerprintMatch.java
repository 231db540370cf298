package io.portcullis.policy.rule;

import io.portcullis.policy.fingerprint.FingerprintSet;
import io.portcullis.policy.model.InspectRequest;

import java.util.Objects;
import java.util.Optional;

/**
 * The {@code tls-fingerprint} condition: the JA4 fingerprint of the client's TLS ClientHello is one of
 * the listed fingerprints or in a listed {@code list:NAME} of fingerprints, compared without regard to
 * case; {@code none} matches a connection without one (no ClientHello, or the listener does not peek).
 * All entries are merged into one {@link FingerprintSet} when the policy is compiled, so a lookup is
 * one hash probe however many the rule names. Evaluation allocates nothing.
 */
public final class TlsFingerprintMatch implements Match {

    public static final String KEY = "tls-fingerprint";

    /** The entry that matches "no fingerprint". */
    public static final String NONE = "none";

    private final FingerprintSet fingerprints;
    private final boolean none;

    /**
     * @param fingerprints the fingerprints that match
     * @param none         whether a connection without a fingerprint matches
     */
    public TlsFingerprintMatch(FingerprintSet fingerprints, boolean none) {
        this.fingerprints = Objects.requireNonNull(fingerprints, "fingerprints");
        this.none = none;
    }

    @Override
    public boolean matches(InspectRequest request, byte[] sourceAddress) {
        Optional<String> ja4 = request.ja4();
        return ja4.isPresent() ? fingerprints.contains(ja4.get()) : none;
    }

    @Override
    public boolean needsTlsPeek() {
        return true;
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public String toString() {
        return "tls-fingerprint[" + fingerprints.size() + (none ? "+none" : "") + "]";
    }
}
