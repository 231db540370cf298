package io.portcullis.policy.yaml;

import io.portcullis.policy.fingerprint.FingerprintSet;
import io.portcullis.policy.fingerprint.Ja4;
import io.portcullis.policy.net.Cidr;
import io.portcullis.policy.net.CidrFormatException;
import io.portcullis.policy.net.CidrSet;

import java.util.Optional;

/**
 * The entries of one named list, inline or from a file. A list holds addresses and CIDRs (for
 * {@code source}) or JA4 fingerprints (for {@code tls-fingerprint}), never both: its first good entry
 * sets which, and an entry of the other kind is an error. The two never look alike (a fingerprint has
 * '_', an address never). An empty list serves either key. Not thread-safe.
 */
final class ListContents {

    /** What a list holds. */
    enum Kind {
        ADDRESSES("addresses", "an address"),
        FINGERPRINTS("JA4 fingerprints", "a JA4 fingerprint");

        private final String plural;
        private final String one;

        Kind(String plural, String one) {
            this.plural = plural;
            this.one = one;
        }

        String plural() {
            return plural;
        }
    }

    private final CidrSet.Builder addresses = CidrSet.builder();
    private final FingerprintSet.Builder fingerprints = FingerprintSet.builder();
    private Kind kind;
    private int kindLine;

    /**
     * Adds one entry (stripped, not empty) found at {@code line}.
     *
     * @return what is wrong with it, worded for "file:line:column: …"; empty when it was added
     */
    Optional<String> add(String entry, int line) {
        if (entry.startsWith(SourceParser.LIST_PREFIX) || entry.startsWith(SourceParser.NOT)) {
            return Optional.of("a list holds addresses, CIDRs or JA4 fingerprints; it cannot refer to another"
                    + " list ('" + entry + "')");
        }
        if (entry.indexOf('_') >= 0) { // only fingerprints have one: no address parse for them
            Optional<String> problem = Ja4.problem(entry);
            if (problem.isPresent()) {
                return Optional.of(kind == Kind.ADDRESSES ? addressProblem(entry) : badFingerprint(entry, problem.get()));
            }
            Optional<String> mixed = kind(Kind.FINGERPRINTS, entry, line);
            if (mixed.isEmpty()) {
                fingerprints.add(entry);
            }
            return mixed;
        }
        Cidr cidr;
        try {
            cidr = Cidr.parse(entry);
        } catch (CidrFormatException e) {
            return Optional.of(kind == Kind.FINGERPRINTS ? badFingerprint(entry, Ja4.problem(entry).orElseThrow())
                    : e.getMessage());
        }
        Optional<String> mixed = kind(Kind.ADDRESSES, entry, line);
        if (mixed.isEmpty()) {
            addresses.add(cidr);
        }
        return mixed;
    }

    /** Adds an IPv4 range read without a {@link Cidr} (list files' fast path); as {@link #add}. */
    Optional<String> addIpv4Range(int first, int last, String entry, int line) {
        Optional<String> mixed = kind(Kind.ADDRESSES, entry, line);
        if (mixed.isEmpty()) {
            addresses.addIpv4Range(first, last);
        }
        return mixed;
    }

    /** Whether the list holds fingerprints (so far). */
    boolean holdsFingerprints() {
        return kind == Kind.FINGERPRINTS;
    }

    CidrSet addresses() {
        return addresses.build();
    }

    FingerprintSet fingerprints() {
        return fingerprints.build();
    }

    private static String addressProblem(String entry) {
        try {
            Cidr.parse(entry);
            return "'" + entry + "' is not an address"; // not reached: no address has '_'
        } catch (CidrFormatException e) {
            return e.getMessage();
        }
    }

    static String badFingerprint(String entry, String problem) {
        return "bad JA4 fingerprint '" + entry + "': " + problem + " (e.g. " + Ja4.EXAMPLE + ")";
    }

    private Optional<String> kind(Kind of, String entry, int line) {
        if (kind == null) {
            kind = of;
            kindLine = line;
            return Optional.empty();
        }
        if (kind == of) {
            return Optional.empty();
        }
        return Optional.of("'" + entry + "' is " + of.one + ", but this list holds " + kind.plural
                + " (from line " + kindLine + "); give " + of.plural + " a list of their own");
    }
}
