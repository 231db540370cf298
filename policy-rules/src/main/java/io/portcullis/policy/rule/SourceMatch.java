package io.portcullis.policy.rule;

import io.portcullis.policy.model.InspectRequest;
import io.portcullis.policy.net.CidrSet;

import java.util.List;
import java.util.Objects;

/**
 * The {@code source} condition: the client's address is in one of the listed networks or lists.
 *
 * <p>Entries are alternatives (any one suffices). All positive entries — CIDRs, addresses and
 * {@code list:NAME} — are merged into one {@link CidrSet} when the policy is compiled, so a lookup is
 * one binary search however many entries the rule names. A negated entry {@code !list:NAME} holds
 * when the address is <em>not</em> in that list. A connection with no resolved source address
 * matches no entry, negated or not.
 */
public final class SourceMatch implements Match {

    public static final String KEY = "source";

    private final CidrSet included;
    private final CidrSet[] excluded;

    /**
     * @param included addresses that match
     * @param excluded lists whose non-members match (one per {@code !list:NAME} entry)
     */
    public SourceMatch(CidrSet included, List<CidrSet> excluded) {
        this.included = Objects.requireNonNull(included, "included");
        this.excluded = excluded.toArray(new CidrSet[0]);
    }

    @Override
    public boolean matches(InspectRequest request, byte[] sourceAddress) {
        if (sourceAddress == null) {
            return false;
        }
        if (included.contains(sourceAddress)) {
            return true;
        }
        for (CidrSet list : excluded) {
            if (!list.contains(sourceAddress)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The IPv4 addresses this condition holds for: those included, and those outside each excluded list.
     *
     * @return an IPv4-only set
     */
    public CidrSet ipv4Sources() {
        CidrSet.Builder b = CidrSet.builder();
        for (int i = 0; i < included.ipv4RangeCount(); i++) {
            b.addIpv4Range(included.ipv4First(i), included.ipv4Last(i));
        }
        for (CidrSet list : excluded) {
            b.addAll(list.ipv4Complement());
        }
        return b.build();
    }

    /** Whether this condition holds for some IPv6 address (one included, or outside an excluded list). */
    public boolean matchesSomeIpv6() {
        if (included.ipv6RangeCount() > 0) {
            return true;
        }
        for (CidrSet list : excluded) {
            if (!list.containsEveryIpv6()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean matchesEverything() {
        if (included.containsEveryIpv4() && included.containsEveryIpv6()) {
            return true;
        }
        for (CidrSet list : excluded) {
            if (list.isEmpty()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public String toString() {
        return "source[included=" + included + ", excludedLists=" + excluded.length + "]";
    }
}
